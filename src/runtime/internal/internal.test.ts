// The internal server and the remote invoker against each other over real loopback sockets: what
// a caller sends reaches the callee's app unchanged, answers come back unchanged, bodies stream
// both ways, and every failure is a TransportError with daprd's text, fast.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { SqliteResolver } from '../../components/nameresolution/sqlite';
import type { NameResolver } from '../../components/nameresolution/types';
import type { InvokeRequest, InvokeResponse, Invoker } from '../../core/invoke/types';
import { freePort } from '../../../compat-tests/helpers/sidecar';
import { ServiceInvocationClient } from './protos';
import { RemoteInvoker } from './remote';
import { createServer } from 'node:net';
import { InternalServer, stablePort } from './server';

/** True when 127.0.0.1:port cannot be bound right now. */
const portTaken = (port: number): Promise<boolean> =>
  new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(true));
    s.listen(port, '127.0.0.1', () => s.close(() => res(false)));
  });
import { TransportError } from './wire';

const MB = 1024 * 1024;
const text = async (r: Readable) => Buffer.concat(await r.toArray()).toString();

function request(over: Partial<InvokeRequest> = {}): InvokeRequest {
  return { appId: 'app2', method: 'orders/1', verb: 'PUT', query: 'a=1&b=2', headers: { 'x-one': ['1'], 'x-two': ['a', 'b'] }, contentType: 'text/plain', body: Readable.from([Buffer.from('hello')]), ...over };
}

const fixed = (port: number): NameResolver => ({
  init: async () => {},
  resolve: async () => ({ host: '127.0.0.1', port }),
  close: async () => {},
});

describe('internal server + remote invoker', () => {
  const servers: InternalServer[] = [];
  const remotes: RemoteInvoker[] = [];
  afterEach(async () => {
    await Promise.all(remotes.splice(0).map((r) => r.close()));
    await Promise.all(servers.splice(0).map((s) => s.stop(0)));
  });

  async function serve(local: Invoker | undefined, appId = 'app2'): Promise<InternalServer> {
    const s = new InternalServer({ appId, host: '127.0.0.1', port: await freePort(), maxMessageBytes: 8 * MB, local: () => local });
    await s.start();
    servers.push(s);
    return s;
  }
  function remoteTo(resolver: NameResolver): RemoteInvoker {
    const r = new RemoteInvoker({ resolver, ownPort: 1, maxMessageBytes: 8 * MB, connectTimeoutMs: 2000 });
    remotes.push(r);
    return r;
  }

  it('carries verb, method, query, headers, content type and body to the app, and status, headers, trailers and body back', async () => {
    let seen: (InvokeRequest & { text: string }) | undefined;
    const s = await serve({
      invoke: async (req) => {
        seen = { ...req, text: await text(req.body) };
        return { status: 201, headers: { 'x-answer': ['42'], 'set-cookie': ['a=1', 'b=2'] }, contentType: 'application/json', body: Readable.from([Buffer.from('{"ok":true}')]), trailers: { 'x-t': ['t'] } };
      },
    });
    const invoker = await remoteTo(fixed(s.port)).remote('app2', '');
    const res = await invoker.invoke(request({ dataTypeUrl: 'type.googleapis.com/x.Y', headers: { 'x-one': ['1'], 'x-two': ['a', 'b'], 'destination-app-id': ['app2'] } }));
    expect(seen).toMatchObject({ appId: 'app2', method: 'orders/1', verb: 'PUT', query: 'a=1&b=2', contentType: 'text/plain', text: 'hello', dataTypeUrl: 'type.googleapis.com/x.Y' });
    expect(seen!.headers).toEqual({ 'x-one': ['1'], 'x-two': ['a', 'b'] }); // destination-app-id is the transport's own
    expect(seen!.length).toBeUndefined(); // a body came: its length is not known up front
    expect(res).toMatchObject({ status: 201, contentType: 'application/json', headers: { 'x-answer': ['42'], 'set-cookie': ['a=1', 'b=2'] }, trailers: { 'x-t': ['t'] } });
    expect(res.grpc).toBeUndefined();
    expect(await text(res.body)).toBe('{"ok":true}');
  });

  it('sends verbs outside HTTPExtension as POST (daprd) and an empty body as none', async () => {
    const seen: (InvokeRequest & { text: string })[] = [];
    const s = await serve({ invoke: async (req) => (seen.push({ ...req, text: await text(req.body) }), { status: 204, headers: {}, contentType: '', body: Readable.from([]) }) });
    const invoker = await remoteTo(fixed(s.port)).remote('app2', '');
    const res = await invoker.invoke(request({ verb: 'PROPFIND', body: Readable.from([]) }));
    expect(res.status).toBe(204);
    expect(await text(res.body)).toBe('');
    expect(seen[0]!.verb).toBe('POST');
    expect(seen[0]!.text).toBe('');
    // The caller's stream ended with the leading message: the app channel is told there is no body.
    expect(seen[0]!.length).toBe(0);
  });

  it('streams 5 MB each way intact', async () => {
    const big = Buffer.alloc(5 * MB);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 251;
    const s = await serve({ invoke: async (req) => ({ status: 200, headers: {}, contentType: 'application/octet-stream', body: req.body }) });
    const invoker = await remoteTo(fixed(s.port)).remote('app2', '');
    const res = await invoker.invoke(request({ body: Readable.from([big.subarray(0, 3 * MB), big.subarray(3 * MB)]) }));
    const back = Buffer.concat(await res.body.toArray());
    expect(back.length).toBe(big.length);
    expect(back.equals(big)).toBe(true);
  });

  it('streams: the answer starts before the request body has ended', async () => {
    const s = await serve({ invoke: async (req) => ({ status: 200, headers: {}, contentType: 'text/plain', body: req.body }) });
    const invoker = await remoteTo(fixed(s.port)).remote('app2', '');
    const upload = new PassThrough();
    upload.write('first;');
    const res = await invoker.invoke(request({ body: upload }));
    const it = res.body[Symbol.asyncIterator]();
    expect(Buffer.from((await it.next()).value).toString()).toBe('first;'); // echoed while the upload is still open
    upload.end('second');
    let rest = '';
    for (let n = await it.next(); !n.done; n = await it.next()) rest += Buffer.from(n.value).toString();
    expect(rest).toBe('second');
  });

  it('passes a gRPC app status on: HTTP status from the code, daprd JSON body when empty', async () => {
    const s = await serve({ invoke: async () => ({ status: 404, grpc: { code: grpc.status.NOT_FOUND, message: 'no such order' }, headers: {}, contentType: '', body: Readable.from([]) }) });
    const res = await (await remoteTo(fixed(s.port)).remote('app2', '')).invoke(request());
    expect(res.status).toBe(404);
    expect(res.grpc).toEqual({ code: 5, message: 'no such order' });
    expect(JSON.parse(await text(res.body))).toEqual({ code: 5, message: 'no such order' });
  });

  it('no app channel on the callee: Internal "app channel is not initialized"', async () => {
    const s = await serve(undefined);
    const err = await (await remoteTo(fixed(s.port)).remote('app2', '')).invoke(request()).catch((e) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect(err.code).toBe(grpc.status.INTERNAL);
    expect(err.message).toBe('rpc error: code = Internal desc = app channel is not initialized');
  });

  it('an app channel failure on the callee: Internal "error invoking app channel: ..."', async () => {
    const s = await serve({ invoke: async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:9')) });
    const err = await (await remoteTo(fixed(s.port)).remote('app2', '')).invoke(request()).catch((e) => e);
    expect(err.message).toBe('rpc error: code = Internal desc = error invoking app channel: connect ECONNREFUSED 127.0.0.1:9');
  });

  it('a sidecar that is not listening: Unavailable at once, and the channel is dropped', async () => {
    const port = await freePort();
    const remote = remoteTo(fixed(port));
    const started = Date.now();
    const err = await (await remote.remote('app2', '')).invoke(request()).catch((e) => e);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err).toBeInstanceOf(TransportError);
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.message).toMatch(/^rpc error: code = Unavailable desc = connection error: cannot connect to 127\.0\.0\.1:\d+$/);
    expect((remote as unknown as { channels: Map<string, unknown> }).channels.size).toBe(0);
  });

  it('a sidecar that went away after answering: Unavailable at once (no wait for grpc-js reconnect backoff)', async () => {
    const s = await serve({ invoke: async () => ({ status: 200, headers: {}, contentType: '', body: Readable.from([]) }) });
    const remote = remoteTo(fixed(s.port));
    expect((await (await remote.remote('app2', '')).invoke(request())).status).toBe(200);
    await s.stop(0);
    const started = Date.now();
    const err = await (await remote.remote('app2', '')).invoke(request()).catch((e) => e);
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('reuses one channel per address', async () => {
    const s = await serve({ invoke: async () => ({ status: 200, headers: {}, contentType: '', body: Readable.from([]) }) });
    const remote = remoteTo(fixed(s.port));
    for (let i = 0; i < 5; i++) await (await (await remote.remote('app2', '')).invoke(request())).body.resume();
    expect((remote as unknown as { channels: Map<string, unknown> }).channels.size).toBe(1);
  });

  it('an abort cancels the call on both sides', async () => {
    let calleeSignal: AbortSignal | undefined;
    const s = await serve({
      invoke: (_req, signal) => {
        calleeSignal = signal;
        return new Promise(() => {}); // an app that never answers
      },
    });
    const ac = new AbortController();
    const pending = (await remoteTo(fixed(s.port)).remote('app2', '')).invoke(request(), ac.signal).catch((e) => e);
    while (!calleeSignal) await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    const err = await pending;
    expect(err.code).toBe(grpc.status.CANCELLED);
    while (!calleeSignal.aborted) await new Promise((r) => setTimeout(r, 10));
  });

  it('answers unary CallLocal (older daprd callers) with the body in message.data', async () => {
    const s = await serve({ invoke: async (req) => ({ status: 200, headers: { 'x-m': [req.method] }, contentType: 'text/plain', body: Readable.from([Buffer.from(`got ${await text(req.body)}`)]) }) });
    const client = new ServiceInvocationClient(`127.0.0.1:${s.port}`, grpc.credentials.createInsecure());
    try {
      const res = await new Promise<{ status: { code: number }; headers: Record<string, { values: string[] }>; message: { data: { value: Buffer } } }>((resolve, reject) =>
        (client as unknown as { CallLocal: (r: unknown, cb: (e: Error | null, r: never) => void) => void }).CallLocal(
          { ver: 'V1', metadata: {}, message: { method: 'm1', data: { type_url: '', value: Buffer.from('ping') }, content_type: 'text/plain', http_extension: { verb: 'POST', querystring: '' } } },
          (e, r) => (e ? reject(e) : resolve(r)),
        ),
      );
      expect(res.status.code).toBe(200);
      expect(res.headers['x-m']!.values).toEqual(['m1']);
      expect(res.message.data.value.toString()).toBe('got ping');
    } finally {
      client.close();
    }
  });

  it('binds daprd\'s stable port for the app id when free, else any free port', async () => {
    const port = stablePort('stable-port-test-app');
    expect(port).toBeGreaterThanOrEqual(47300);
    expect(port).toBeLessThan(47300 + 2048);
    const a = new InternalServer({ appId: 'stable-port-test-app', host: '127.0.0.1', maxMessageBytes: MB, local: () => undefined });
    const b = new InternalServer({ appId: 'stable-port-test-app', host: '127.0.0.1', maxMessageBytes: MB, local: () => undefined });
    servers.push(a, b);
    const pa = await a.start();
    const pb = await b.start();
    expect(pb).not.toBe(pa);
    // The stable port lies in Linux's ephemeral range: while the suites run, another process's
    // connection may hold it. Then neither server has it, and it must really be taken.
    if (![pa, pb].includes(port)) expect(await portTaken(port)).toBe(true);
  });

  describe('with sqlite name resolution', () => {
    let dir: string;
    const resolvers: NameResolver[] = [];
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'layotto-ts-nr-'));
    });
    afterEach(async () => {
      await Promise.all(resolvers.splice(0).map((r) => r.close()));
      rmSync(dir, { recursive: true, force: true });
    });

    async function sidecar(appId: string, local?: Invoker): Promise<{ server: InternalServer; resolver: SqliteResolver }> {
      const server = await serve(local, appId);
      const resolver = new SqliteResolver();
      await resolver.init({ instance: { appId, namespace: '', address: '127.0.0.1', listenAddress: '127.0.0.1', daprInternalPort: server.port }, configuration: { connectionString: join(dir, 'nr.db') } });
      resolvers.push(resolver);
      return { server, resolver };
    }
    const answering = (who: string): Invoker => ({ invoke: async () => ({ status: 200, headers: {}, contentType: 'text/plain', body: Readable.from([Buffer.from(who)]) }) });

    it('several instances of one app id share the calls', async () => {
      await sidecar('app2', answering('first'));
      await sidecar('app2', answering('second'));
      const caller = await sidecar('app1');
      const remote = remoteTo(caller.resolver);
      const who: string[] = [];
      for (let i = 0; i < 6; i++) who.push(await text((await (await remote.remote('app2', '')).invoke(request())).body));
      expect(who.filter((w) => w === 'first')).toHaveLength(3);
      expect(who.filter((w) => w === 'second')).toHaveLength(3);
    });

    it('a stopped target leaves the registry: the next call fails fast with "no host found with the given ID"', async () => {
      const target = await sidecar('app2', answering('up'));
      const caller = await sidecar('app1');
      const remote = remoteTo(caller.resolver);
      expect(await text((await (await remote.remote('app2', '')).invoke(request())).body)).toBe('up');
      await target.resolver.close();
      await target.server.stop(0);
      const started = Date.now();
      const err = await remote.remote('app2', '').catch((e) => e);
      expect(err.message).toBe('no host found with the given ID');
      expect(Date.now() - started).toBeLessThan(500);
    });
  });
});
