// The multiplexed sidecar-to-sidecar calls (mux-*.ts) between a real node:http2 server and the
// remote invoker over loopback: small calls share one stream once the callee accepts it, anything
// else keeps its own CallLocalStream, a callee without it (daprd) is asked once, big answers flow
// under credit, and cancellation, failures, a lost connection and a draining callee behave as on
// CallLocalStream.
import http2, { type Http2Server, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { status } from '@grpc/grpc-js';
import type { InvokeRequest, InvokeResponse } from '../../core/invoke/types';
import { CALL_LOCAL_STREAM, CallError, serveCallLocalStream, type ServeOptions } from './h2-server-call';
import { MUX_PATH, WINDOW } from './mux-frames';
import { type MuxStream, serveMux } from './mux-server';
import { RemoteInvoker } from './remote';
import { TransportError, type WireRequest } from './wire';

const MB = 1024 * 1024;
const text = async (r: Readable) => Buffer.concat(await r.toArray()).toString();
const answer = (body: string | Readable, over: Partial<InvokeResponse> = {}): InvokeResponse => ({
  status: 200,
  headers: { 'x-answer': ['42'] },
  contentType: 'text/plain',
  body: typeof body === 'string' ? Readable.from(body ? [Buffer.from(body)] : []) : body,
  ...over,
});
const request = (body: string, over: Partial<InvokeRequest> = {}): InvokeRequest => ({
  appId: 'app2',
  method: 'orders/1',
  verb: 'POST',
  query: 'a=1',
  headers: { 'x-one': ['1'] },
  contentType: 'text/plain',
  body: Readable.from(body ? [Buffer.from(body)] : []),
  length: Buffer.byteLength(body),
  ...over,
});

type Handle = (first: WireRequest, body: Readable, signal: AbortSignal) => Promise<InvokeResponse>;

interface Callee {
  port: number;
  /** Streams opened, by path. */
  streams: Record<string, number>;
  muxes: MuxStream[];
  sessions: Set<ServerHttp2Session>;
  server: Http2Server;
}

describe('multiplexed sidecar-to-sidecar calls', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  async function callee(handle: Handle, opts: { refuse?: boolean } = {}): Promise<Callee> {
    const server = http2.createServer();
    const c: Callee = { port: 0, streams: {}, muxes: [], sessions: new Set(), server };
    server.on('session', (s) => {
      c.sessions.add(s);
      s.once('close', () => c.sessions.delete(s));
    });
    const serve: ServeOptions = { maxMessageBytes: 8 * MB, handle: (first, body, signal) => handle(first, body, signal) };
    server.on('stream', (stream, headers) => {
      const path = String(headers[':path']);
      c.streams[path] = (c.streams[path] ?? 0) + 1;
      if (path === CALL_LOCAL_STREAM) return serveCallLocalStream(stream, headers, serve);
      if (path === MUX_PATH && !opts.refuse) return void c.muxes.push(serveMux(stream, serve));
      // What grpc-js (and so daprd's Go server) answers for a method it does not have.
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(status.UNIMPLEMENTED), 'grpc-message': 'unknown method' }, { endStream: true });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    c.port = (server.address() as AddressInfo).port;
    closers.push(async () => {
      for (const s of c.sessions) s.destroy();
      await new Promise((r) => server.close(r));
    });
    return c;
  }

  function caller(port: number): RemoteInvoker {
    const r = new RemoteInvoker({ resolver: { init: async () => {}, resolve: async () => ({ host: '127.0.0.1', port }), close: async () => {} }, ownPort: 1, maxMessageBytes: 8 * MB, connectTimeoutMs: 2000 });
    closers.push(() => r.close());
    return r;
  }

  /** Calls until one has gone over the multiplexed stream (it opens after the session connects). */
  async function warm(c: Callee, r: RemoteInvoker): Promise<void> {
    const inv = await r.remote('app2', '');
    for (let i = 0; i < 50 && !c.streams[MUX_PATH]; i++) await text((await inv.invoke(request('warm'))).body);
    await new Promise((res) => setTimeout(res, 20));
  }

  const echo: Handle = async (first, body) => {
    const got = await text(body);
    return answer(`${first.message!.http_extension!.verb} ${first.message!.method}?${first.message!.http_extension!.querystring} ${first.metadata['x-one']?.values.join(',')} ${got}`);
  };

  it('sends small calls over one shared stream once the callee has accepted it, each answered in full', async () => {
    const c = await callee(echo);
    const r = caller(c.port);
    await warm(c, r);
    const before = c.streams[CALL_LOCAL_STREAM] ?? 0;
    const inv = await r.remote('app2', '');
    const sequential = [];
    for (let i = 0; i < 20; i++) {
      const res = await inv.invoke(request(`body ${i}`));
      sequential.push([res.status, res.headers['x-answer'], await text(res.body)]);
    }
    expect(sequential[7]).toEqual([200, ['42'], 'POST orders/1?a=1 1 body 7']);
    const parallel = await Promise.all(Array.from({ length: 30 }, async (_, i) => text((await inv.invoke(request(`p${i}`, { verb: 'GET', body: Readable.from([]), length: 0 }))).body)));
    expect(parallel[29]).toBe('GET orders/1?a=1 1 ');
    expect(c.streams[MUX_PATH]).toBe(1);
    expect(c.streams[CALL_LOCAL_STREAM] ?? 0).toBe(before); // none of the 50 took a stream of its own
  });

  it('keeps a stream of its own for a body of unknown or large size', async () => {
    const c = await callee(echo);
    const r = caller(c.port);
    await warm(c, r);
    const before = c.streams[CALL_LOCAL_STREAM] ?? 0;
    const inv = await r.remote('app2', '');
    const unknown = await inv.invoke(request('streamed', { length: undefined }));
    expect(await text(unknown.body)).toBe('POST orders/1?a=1 1 streamed');
    const big = 'x'.repeat(200 * 1024);
    const large = await inv.invoke(request(big));
    expect((await text(large.body)).length).toBe(`POST orders/1?a=1 1 `.length + big.length);
    expect(c.streams[CALL_LOCAL_STREAM]).toBe(before + 2);
  });

  it('asks a callee without it (daprd) once, then sends every call over CallLocalStream', async () => {
    const c = await callee(echo, { refuse: true });
    const inv = await caller(c.port).remote('app2', '');
    for (let i = 0; i < 15; i++) expect(await text((await inv.invoke(request(`n${i}`))).body)).toBe(`POST orders/1?a=1 1 n${i}`);
    expect(c.streams[MUX_PATH]).toBe(1);
    expect(c.streams[CALL_LOCAL_STREAM]).toBe(15);
  });

  it('streams a big answer under the caller\'s credit: a reader that stops holds back only its own call', async () => {
    let pulled = 0;
    const total = 3 * MB;
    const c = await callee(async (first, body) => {
      await text(body);
      if (first.message!.method !== 'big') return answer('small');
      let sent = 0;
      const src = new Readable({
        read() {
          if (sent >= total) return void this.push(null);
          const n = Math.min(16 * 1024, total - sent);
          const chunk = Buffer.alloc(n, sent / (16 * 1024) % 251);
          sent += n;
          pulled = sent;
          this.push(chunk);
        },
      });
      return answer(src);
    });
    const r = caller(c.port);
    await warm(c, r);
    const inv = await r.remote('app2', '');
    const res = await inv.invoke(request('', { method: 'big' }));
    const first = await new Promise<Buffer>((resolve) => res.body.once('data', (d: Buffer) => (res.body.pause(), resolve(d))));
    await new Promise((s) => setTimeout(s, 300));
    // The callee stopped near the credit window (plus what its own stream buffers hold), not at 3 MB.
    expect(pulled).toBeLessThan(WINDOW + 512 * 1024);
    expect(await text((await inv.invoke(request('', { method: 'small' }))).body)).toBe('small'); // the shared stream still moves
    const rest = Buffer.concat(await res.body.toArray());
    const all = Buffer.concat([first, rest]);
    expect(all.length).toBe(total);
    for (let i = 0; i < total; i += 16 * 1024) if (all[i] !== (i / (16 * 1024)) % 251) throw new Error(`chunk at ${i} out of order`);
    expect(pulled).toBe(total);
  });

  it('passes the caller\'s cancellation to the callee\'s call, and the callee\'s failure back with its code', async () => {
    let cancelled: Promise<void> | undefined;
    const c = await callee(async (first, body, signal) => {
      await text(body);
      if (first.message!.method === 'fail') throw new CallError(status.PERMISSION_DENIED, 'not for you');
      if (first.message!.method !== 'hang') return answer('ok');
      cancelled = new Promise((res) => signal.addEventListener('abort', () => res()));
      return new Promise<InvokeResponse>(() => undefined);
    });
    const r = caller(c.port);
    await warm(c, r);
    const inv = await r.remote('app2', '');
    const err = await inv.invoke(request('', { method: 'fail' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect(err).toMatchObject({ code: status.PERMISSION_DENIED, message: 'rpc error: code = PermissionDenied desc = not for you' });
    const ac = new AbortController();
    const pending = inv.invoke(request('', { method: 'hang' }), ac.signal);
    await new Promise((s) => setTimeout(s, 50));
    ac.abort();
    await expect(pending).rejects.toMatchObject({ code: status.CANCELLED });
    await cancelled; // reached the callee
    expect(await text((await inv.invoke(request('after'))).body)).toBe('ok');
  });

  it('fails the calls in flight UNAVAILABLE when the connection is lost, and the next call dials anew', async () => {
    let hanging = 0;
    const c = await callee(async (first, body) => {
      await text(body);
      if (first.message!.method !== 'hang') return answer('ok');
      hanging++;
      return new Promise<InvokeResponse>(() => undefined);
    });
    const r = caller(c.port);
    await warm(c, r);
    const inv = await r.remote('app2', '');
    const calls = [1, 2, 3].map(() => inv.invoke(request('', { method: 'hang' })).catch((e: unknown) => e));
    while (hanging < 3) await new Promise((s) => setTimeout(s, 10));
    for (const s of c.sessions) s.destroy();
    for (const e of await Promise.all(calls)) expect(e).toMatchObject({ code: status.UNAVAILABLE });
    expect(await text((await (await r.remote('app2', '')).invoke(request('again'))).body)).toBe('ok');
  });

  it('a draining callee finishes the calls on the stream, then ends it; later calls still get through', async () => {
    let release: (() => void) | undefined;
    const c = await callee(async (first, body) => {
      await text(body);
      if (first.message!.method === 'slow') await new Promise<void>((res) => (release = res));
      return answer(first.message!.method);
    });
    const r = caller(c.port);
    await warm(c, r);
    const inv = await r.remote('app2', '');
    const slow = inv.invoke(request('', { method: 'slow' }));
    while (!release) await new Promise((s) => setTimeout(s, 10));
    const mux = c.muxes[0]!;
    mux.drain();
    release();
    expect(await text((await slow).body)).toBe('slow');
    for (let i = 0; i < 5; i++) expect(await text((await inv.invoke(request('', { method: `m${i}` }))).body)).toBe(`m${i}`);
  });
});
