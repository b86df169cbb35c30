// --max-body-size both ways on the built sidecar (64 KiB here): requests into the sidecar (HTTP 413
// ERR_BODY_READ, gRPC RESOURCE_EXHAUSTED), answers from the app over HTTP invocation (a declared
// length: 500 ERR_DIRECT_INVOKE before anything is sent; a chunked one: cut where it passes the
// limit) and over gRPC (RESOURCE_EXHAUSTED), answers from another sidecar (the caller's limit
// holds), component answers over gRPC, and proxied gRPC calls either way. The sidecars keep serving.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { daprClientConstructor } from '../../src/api/dapr-grpc/protos';
import { echoClient, echoService, type Msg, to, unary } from '../../test/grpc-echo';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';

/** A sidecar's health deadline: several starting at once on a busy machine can take longer than the helper's 20 s. */
const STARTUP_MS = 60_000;

const LIMIT = 64 * 1024;
const OVER = 100 * 1024;
const UNDER = 32 * 1024;
const LIMIT_ARGS = ['--max-body-size', '64Ki'];

type Rpc = (req: unknown, cb: (err: grpc.ServiceError | null, res?: unknown) => void) => void;
const call = (client: grpc.Client, rpc: string, req: unknown) =>
  new Promise<{ err: grpc.ServiceError | null; res?: unknown }>((resolve) => ((client as unknown as Record<string, Rpc>)[rpc]!).call(client, req, (err, res) => resolve({ err, res })));
const daprGrpc = (sc: Sidecar) => new (daprClientConstructor())(`127.0.0.1:${sc.grpcPort}`, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.max_send_message_length': 64 * 1024 * 1024 });
const invokeReq = (app: string, method: string, data = Buffer.alloc(0)) => ({ id: app, message: { method, data: { type_url: '', value: data }, content_type: 'text/plain', http_extension: { verb: 'POST', querystring: '' } } });

/** Reads a response to its end: the bytes that came, and whether it ended cleanly. */
async function drain(res: Response): Promise<{ bytes: number; complete: boolean }> {
  let bytes = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
    return { bytes, complete: true };
  } catch {
    return { bytes, complete: false };
  }
}

/** An HTTP app: /size answers its request's size; /big?n= answers n bytes with a Content-Length, /chunked?n= without. */
async function startHttpApp(): Promise<Server> {
  const server = createServer((req, res) => {
    let size = 0;
    req.on('data', (c: Buffer) => (size += c.length));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://app');
      const n = Number(url.searchParams.get('n') ?? 0);
      if (url.pathname === '/size') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ size }));
      if (url.pathname === '/big') return void res.writeHead(200, { 'content-type': 'text/plain', 'content-length': n }).end('x'.repeat(n));
      if (url.pathname === '/chunked') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        for (let i = 0; i < n; i += 8192) res.write('y'.repeat(Math.min(8192, n - i)));
        return void res.end();
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

describe('--max-body-size both ways', () => {
  const APP = 'limits-body';
  let app: Server;
  let sc: Sidecar;
  let bigCaller: Sidecar;
  let smallCaller: Sidecar;
  let http: (path: string, init?: RequestInit) => Promise<Response>;

  beforeAll(async () => {
    app = await startHttpApp();
    const resources = { 's.yaml': componentYaml('statestore', 'state.in-memory') };
    sc = await startSidecar({ startupMs: STARTUP_MS, appId: APP, layotto: false, resources, args: ['--app-port', String((app.address() as AddressInfo).port), ...LIMIT_ARGS] });
    // Two callers without an app: one with a large limit (the callee's 64 KiB holds), one with 16 KiB.
    // One after the other: sidecars started at once could pick the same free port.
    bigCaller = await startSidecar({ startupMs: STARTUP_MS, appId: `${APP}-big`, layotto: false, args: ['--max-body-size', '16Mi'] });
    smallCaller = await startSidecar({ startupMs: STARTUP_MS, appId: `${APP}-small`, layotto: false, args: ['--max-body-size', '16Ki'] });
    http = (path, init) => fetch(`http://127.0.0.1:${sc.httpPort}${path}`, init);
  }, 4 * STARTUP_MS);
  afterAll(async () => {
    await Promise.all([bigCaller?.stop(), smallCaller?.stop(), sc?.stop()]);
    app?.closeAllConnections();
    await new Promise((r) => app?.close(r));
  });

  describe('requests into the sidecar', () => {
    it('HTTP invocation: 413 ERR_BODY_READ over the limit, the app reached under it', async () => {
      const over = await http(`/v1.0/invoke/${APP}/method/size`, { method: 'POST', body: 'a'.repeat(OVER) });
      expect(over.status).toBe(413);
      expect(((await over.json()) as { errorCode: string }).errorCode).toBe('ERR_BODY_READ');
      const under = await http(`/v1.0/invoke/${APP}/method/size`, { method: 'POST', body: 'a'.repeat(UNDER) });
      expect([under.status, await under.json()]).toEqual([200, { size: UNDER }]);
    });

    it('HTTP, chunked (no Content-Length): 413 too', async () => {
      const body = new ReadableStream({
        start(c) {
          for (let i = 0; i < 4; i++) c.enqueue(new Uint8Array(32 * 1024));
          c.close();
        },
      });
      const res = await http('/v1.0/state/statestore', { method: 'POST', body, duplex: 'half' } as RequestInit);
      expect(res.status).toBe(413);
    });

    it('gRPC: RESOURCE_EXHAUSTED over the limit', async () => {
      const client = daprGrpc(sc);
      expect((await call(client, 'InvokeService', invokeReq(APP, 'size', Buffer.alloc(OVER)))).err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect((await call(client, 'InvokeService', invokeReq(APP, 'size', Buffer.alloc(UNDER)))).err).toBeNull();
      client.close();
    });
  });

  describe('answers from the app', () => {
    it('HTTP invocation, declared length over the limit: 500 ERR_DIRECT_INVOKE before anything is sent', async () => {
      const res = await http(`/v1.0/invoke/${APP}/method/big?n=${OVER}`, { method: 'POST' });
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ errorCode: 'ERR_DIRECT_INVOKE', message: `failed to invoke, id: ${APP}, err: the response body is larger than ${LIMIT} bytes (--max-body-size)` });
      const ok = await http(`/v1.0/invoke/${APP}/method/big?n=${LIMIT}`, { method: 'POST' });
      expect([ok.status, (await drain(ok)).bytes]).toEqual([200, LIMIT]);
    });

    it('HTTP invocation, chunked: the answer is cut where it passes the limit', async () => {
      const res = await http(`/v1.0/invoke/${APP}/method/chunked?n=${OVER}`, { method: 'POST' });
      expect(res.status).toBe(200); // the headers went out before the body grew too large
      const got = await drain(res);
      expect(got.complete).toBe(false);
      expect(got.bytes).toBeLessThanOrEqual(LIMIT);
    });

    it('gRPC invocation: RESOURCE_EXHAUSTED, declared or chunked', async () => {
      const client = daprGrpc(sc);
      for (const method of [`big?n=${OVER}`, `chunked?n=${OVER}`]) {
        const { err } = await call(client, 'InvokeService', { ...invokeReq(APP, method.split('?')[0]!), message: { ...invokeReq(APP, '').message, method: method.split('?')[0], http_extension: { verb: 'POST', querystring: method.split('?')[1] } } });
        expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      }
      client.close();
    });
  });

  describe('answers from another sidecar', () => {
    it("a caller with a large limit: the callee's limit holds for its app's answer", async () => {
      const res = await fetch(`http://127.0.0.1:${bigCaller.httpPort}/v1.0/invoke/${APP}/method/big?n=${OVER}`, { method: 'POST' });
      expect(res.status).toBe(500);
      expect(((await res.json()) as { message: string }).message).toMatch(/larger than 65536 bytes/);
    });

    it('a caller with a smaller limit: its own limit holds for the remote answer (over HTTP and gRPC)', async () => {
      // 32 KiB: under the callee's limit, over the caller's 16 KiB.
      const res = await fetch(`http://127.0.0.1:${smallCaller.httpPort}/v1.0/invoke/${APP}/method/big?n=${UNDER}`, { method: 'POST' });
      expect(res.status).toBe(500);
      expect(((await res.json()) as { message: string }).message).toBe(`failed to invoke, id: ${APP}, err: the response body is larger than 16384 bytes (--max-body-size)`);
      const chunked = await fetch(`http://127.0.0.1:${smallCaller.httpPort}/v1.0/invoke/${APP}/method/chunked?n=${UNDER}`, { method: 'POST' });
      expect((await drain(chunked)).complete).toBe(false);
      const client = daprGrpc(smallCaller);
      const { err } = await call(client, 'InvokeService', { ...invokeReq(APP, 'big'), message: { ...invokeReq(APP, 'big').message, http_extension: { verb: 'POST', querystring: `n=${UNDER}` } } });
      expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      client.close();
      const ok = await fetch(`http://127.0.0.1:${smallCaller.httpPort}/v1.0/invoke/${APP}/method/big?n=16384`, { method: 'POST' });
      expect([ok.status, (await drain(ok)).bytes]).toEqual([200, 16384]);
    });
  });

  it('component answers over gRPC: RESOURCE_EXHAUSTED past the limit (HTTP answers them whole, as daprd)', async () => {
    const value = 'v'.repeat(40 * 1024);
    for (const key of ['a', 'b']) expect((await http('/v1.0/state/statestore', { method: 'POST', body: JSON.stringify([{ key, value }]) })).status).toBe(204);
    // Each value went in under the limit; both together come back over it.
    const client = daprGrpc(sc);
    expect((await call(client, 'GetBulkState', { store_name: 'statestore', keys: ['a', 'b'] })).err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect((await call(client, 'GetState', { store_name: 'statestore', key: 'a' })).err).toBeNull();
    client.close();
    const bulk = await http('/v1.0/state/statestore/bulk', { method: 'POST', body: JSON.stringify({ keys: ['a', 'b'] }) });
    expect(bulk.status).toBe(200);
  });

  it('the sidecars are healthy after all of it', async () => {
    for (const s of [sc, bigCaller, smallCaller]) expect((await fetch(`http://127.0.0.1:${s.httpPort}/v1.0/healthz`)).status).toBe(204);
  });
});

describe('--max-body-size on proxied gRPC calls, both ways', () => {
  const APP = 'limits-proxy';
  let server: grpc.Server;
  let sc: Sidecar;

  beforeAll(async () => {
    // Unary answers `count` bytes of data, whatever it was sent.
    server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.max_send_message_length': 64 * 1024 * 1024 });
    server.addService(echoService, {
      Unary: (c: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => cb(null, { text: `got ${c.request.data.length}`, data: Buffer.alloc(c.request.count), count: 0, code: 0, delay_ms: 0 }),
    });
    const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    sc = await startSidecar({ startupMs: STARTUP_MS, appId: APP, layotto: false, args: ['--app-port', String(port), '--app-protocol', 'grpc', ...LIMIT_ARGS] });
  }, 3 * STARTUP_MS);
  afterAll(async () => {
    await sc?.stop();
    server?.forceShutdown();
  });

  it('a request over the limit: RESOURCE_EXHAUSTED; an answer over it: RESOURCE_EXHAUSTED; under both: answered', async () => {
    const client = echoClient(sc.grpcPort);
    try {
      expect((await unary(client, { data: Buffer.alloc(OVER) }, to(APP))).err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect((await unary(client, { data: Buffer.alloc(10), count: OVER }, to(APP))).err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      const ok = await unary(client, { data: Buffer.alloc(UNDER), count: UNDER }, to(APP));
      expect(ok.err).toBeNull();
      expect([ok.res?.text, ok.res?.data.length]).toEqual([`got ${UNDER}`, UNDER]);
    } finally {
      client.close();
    }
    expect((await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/healthz`)).status).toBe(204);
  });
});
