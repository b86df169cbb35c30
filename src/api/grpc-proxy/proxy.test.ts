// gRPC proxying in-process over real sockets: a plain grpc-js client calls a "sidecar" (a grpc-js
// server with the proxy attached, as the Dapr gRPC port and the internal port have it) for a
// service that sidecar knows nothing of; a plain grpc-js app serves it. One sidecar (own app) and
// two (app1 → sidecar1 → sidecar2 → app2, name resolution stubbed).
import * as grpc from '@grpc/grpc-js';
import { NoAddressError } from '../../components/nameresolution/types';
import { NO_RESILIENCY, type Resiliency } from '../../core/resiliency/types';
import { resiliencyFrom } from '../../../test/resiliency';
import { until } from '../../../test/wait';
import { clientStream, collect, type Echo, echoClient, type EchoApp, echoService, metadata, type Msg, startEchoApp, to, unary } from '../../../test/grpc-echo';
import { GrpcProxy, type GrpcProxyOptions, type Locate } from './proxy';

interface TestSidecar {
  proxy: GrpcProxy;
  apiPort: number;
  internalPort: number;
  close(): void;
}

const bind = (s: grpc.Server) => new Promise<number>((res, rej) => s.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));

/** The sidecar's own API: one registered method (Echo/Unary here) that the proxy must leave alone. */
async function sidecar(opts: Partial<GrpcProxyOptions> & { appId: string; own?: boolean }): Promise<TestSidecar> {
  const proxy = new GrpcProxy({ namespace: '', ...opts });
  const api = new grpc.Server();
  if (opts.own) api.addService({ Unary: echoService.Unary }, { Unary: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { text: 'the sidecar itself' }) });
  proxy.attach(api, 'app');
  const internal = new grpc.Server();
  proxy.attach(internal, 'sidecar');
  const [apiPort, internalPort] = await Promise.all([bind(api), bind(internal)]);
  return {
    proxy,
    apiPort,
    internalPort,
    close: () => {
      api.forceShutdown();
      internal.forceShutdown();
      proxy.close();
    },
  };
}

const appOf = (app: EchoApp, apiToken?: string) => ({ address: '127.0.0.1', port: app.port, protocol: 'grpc', apiToken });

describe('gRPC proxying to this sidecar\'s own app', () => {
  let app: EchoApp;
  let sc: TestSidecar;
  let client: Echo;

  beforeAll(async () => {
    app = await startEchoApp('app1');
    sc = await sidecar({ appId: 'app1', app: appOf(app, 'app-token') });
    client = echoClient(sc.apiPort);
  });
  afterAll(async () => {
    client.close();
    sc.close();
    await app.close();
  });
  beforeEach(() => app.reset());

  it('unary: message, metadata, headers and trailers arrive intact', async () => {
    const md = to('app1', [['x-repeated', 'a'], ['x-repeated', 'b'], ['x-key-bin', Buffer.from([0, 255, 1])], ['dapr-api-token', 'callers-token'], ['dapr-caller-app-id', 'forged']]);
    const r = await unary(client, { text: 'hi', data: Buffer.from([1, 2, 3]) }, md);
    expect(r.err).toBeNull();
    expect(r.res?.text).toBe('app1:hi');
    expect(r.res?.data).toEqual(Buffer.from([1, 2, 3]));
    expect(r.headers?.get('x-app')).toEqual(['app1']);
    expect(r.headers?.get('x-bin-bin')).toEqual([Buffer.from([0, 1, 2, 255])]);
    expect(r.trailers?.get('x-trailer-bin')).toEqual([Buffer.from([9, 8, 7])]);
    // Exactly what a client connected to the app directly reads (grpc-js joins a repeated text trailer).
    const direct = echoClient(app.port);
    const d = await unary(direct, { text: 'hi', data: Buffer.from([1, 2, 3]) }, md);
    direct.close();
    const without = (m?: grpc.Metadata) => Object.fromEntries(Object.entries(m?.toJSON() ?? {}).filter(([k]) => k !== 'date'));
    expect(without(r.headers)).toEqual(without(d.headers));
    expect(without(r.trailers)).toEqual(without(d.trailers));
    expect(r.trailers?.get('x-trailer')).toEqual(d.trailers?.get('x-trailer'));
    const seenDirect = app.seen.pop()!;

    const seen = app.seen[0]!;
    expect(app.seen).toHaveLength(1);
    expect(seen.method).toBe('Unary');
    expect(seen.metadata['x-repeated']).toEqual(seenDirect.metadata['x-repeated']);
    expect(seen.metadata['x-key-bin']).toEqual([Buffer.from([0, 255, 1])]);
    expect(seen.metadata['dapr-app-id']).toEqual(['app1']);
    expect(seen.metadata['dapr-caller-app-id']).toEqual(['app1']);
    expect(seen.metadata['dapr-callee-app-id']).toEqual(['app1']);
    // The caller's token stays with the sidecar; the app gets APP_API_TOKEN.
    expect(seen.metadata['dapr-api-token']).toEqual(['app-token']);
    expect(seen.deadline).toBe(Infinity);
  });

  it("the app's error status, message and metadata pass through (trailers-only)", async () => {
    const r = await unary(client, { text: 'no', code: grpc.status.PERMISSION_DENIED }, to('app1'));
    expect(r.err?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(r.err?.details).toBe('app app1 failed: no');
    expect(r.err?.metadata.get('x-err')).toEqual(['e']);
    expect(r.err?.metadata.get('x-err-bin')).toEqual([Buffer.from([1, 2, 3])]);
  });

  it('server streaming: every message, then trailers; an error after messages keeps both', async () => {
    const ok = await collect(client.ServerStream({ text: 's', count: 5 }, to('app1')));
    expect(ok.messages.map((m) => m.text)).toEqual(['s-0', 's-1', 's-2', 's-3', 's-4']);
    expect(ok.status.code).toBe(grpc.status.OK);
    expect(ok.status.metadata.get('x-trailer-bin')).toEqual([Buffer.from([9, 8, 7])]);
    expect(ok.headers?.get('x-app')).toEqual(['app1']);

    const failed = await collect(client.ServerStream({ text: 'f', count: 2, code: grpc.status.DATA_LOSS }, to('app1')));
    expect(failed.messages.map((m) => m.text)).toEqual(['f-0', 'f-1']);
    expect(failed.status.code).toBe(grpc.status.DATA_LOSS);
    expect(failed.status.details).toBe('app app1 failed: f');
    expect(failed.status.metadata.get('x-err-bin')).toEqual([Buffer.from([1, 2, 3])]);
  });

  it('client streaming', async () => {
    const res = await clientStream(client, to('app1'), ['a', 'b', 'c'], Buffer.alloc(1000));
    expect(res.err).toBeNull();
    expect(res.res).toMatchObject({ text: 'a,b,c', count: 3 });
    expect(app.seen[0]!.bytes).toBe(3000);
  });

  it('bidi streaming: each answer comes back before the next message is sent', async () => {
    const call = client.Bidi(to('app1'));
    const got: string[] = [];
    const next = () => new Promise<Msg>((r) => call.once('data', r));
    for (const t of ['one', 'two', 'three']) {
      const answer = next();
      call.write({ text: t });
      got.push((await answer).text);
    }
    const end = collect(call);
    call.end();
    const { status } = await end;
    expect(got).toEqual(['app1:one', 'app1:two', 'app1:three']);
    expect(status.code).toBe(grpc.status.OK);
    expect(status.metadata.get('x-trailer-bin')).toEqual([Buffer.from([9, 8, 7])]);
  });

  it('a cancelled call is cancelled at the app', async () => {
    const call = client.ServerStream({ text: 'slow', count: 100, delay_ms: 100 }, to('app1'));
    const done = collect(call);
    await new Promise((r) => call.once('data', r));
    call.cancel();
    expect((await done).status.code).toBe(grpc.status.CANCELLED);
    await until(() => app.cancelled.includes('ServerStream'), () => `cancelled at the app: ${app.cancelled}`);
  });

  it('the deadline reaches the app (grpc-timeout passes through) and expires there too', async () => {
    const r = await unary(client, { text: 'late', delay_ms: 10_000 }, to('app1'), { deadline: Date.now() + 300 });
    expect(r.err?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    const seen = app.seen[0]!;
    expect(seen.deadline).toBeGreaterThan(Date.now() - 5000);
    expect(seen.deadline).toBeLessThan(Date.now() + 1000);
    await until(() => app.cancelled.includes('Unary'), () => 'the app saw no cancellation');
  });

  it('large messages both ways (5 MB)', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024, 7);
    const r = await unary(client, { text: 'big', data: big }, to('app1'));
    expect(r.err).toBeNull();
    expect(r.res?.data.equals(big)).toBe(true);
  });

  it('dapr-callee-app-id alone also routes; without either header the sidecar answers UNIMPLEMENTED', async () => {
    const viaCallee = await unary(client, { text: 'c' }, metadata([['dapr-callee-app-id', 'app1']]));
    expect(viaCallee.res?.text).toBe('app1:c');
    const none = await unary(client, { text: 'x' }, metadata([]));
    expect(none.err?.code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it('a bad app id or method path is INVALID_ARGUMENT', async () => {
    expect((await unary(client, { text: 'x' }, to('a.b.c'))).err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    const raw = new grpc.Client(`127.0.0.1:${sc.apiPort}`, grpc.credentials.createInsecure());
    try {
      const err = await new Promise<grpc.ServiceError | null>((resolve) =>
        raw.makeUnaryRequest('/proxytest.v1.Echo/Unary?x=1', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), to('app1'), (e) => resolve(e)),
      );
      expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err?.details).toMatch(/invalid method/);
    } finally {
      raw.close();
    }
  });
});

describe('gRPC proxying failures', () => {
  const sidecars: TestSidecar[] = [];
  const clients: Echo[] = [];
  const apps: EchoApp[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const s of sidecars.splice(0)) s.close();
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });
  const make = async (opts: Partial<GrpcProxyOptions> & { appId: string; own?: boolean }) => {
    const sc = await sidecar(opts);
    sidecars.push(sc);
    const c = echoClient(sc.apiPort);
    clients.push(c);
    return { sc, client: c };
  };

  it("the sidecar's own methods are served even with dapr-app-id", async () => {
    const app = await startEchoApp('app1');
    apps.push(app);
    const { client } = await make({ appId: 'app1', own: true, app: appOf(app) });
    const r = await unary(client, { text: 'x' }, to('app1'));
    expect(r.res?.text).toBe('the sidecar itself');
    expect(app.seen).toHaveLength(0);
  });

  it('no app: INTERNAL, app channel not initialized; an HTTP app: INTERNAL naming its protocol', async () => {
    const { client } = await make({ appId: 'app1' });
    const r = await unary(client, { text: 'x' }, to('app1'));
    expect(r.err?.code).toBe(grpc.status.INTERNAL);
    expect(r.err?.details).toMatch(/app channel is not initialized/);
    const http = await make({ appId: 'app1', app: { address: '127.0.0.1', port: 1, protocol: 'http' } });
    const h = await unary(http.client, { text: 'x' }, to('app1'));
    expect(h.err?.code).toBe(grpc.status.INTERNAL);
    expect(h.err?.details).toMatch(/http/);
  });

  it('an app that is not listening: UNAVAILABLE at once; once it listens, the next call goes through', async () => {
    const app = await startEchoApp('app1');
    const port = app.port;
    await app.close();
    const { client } = await make({ appId: 'app1', app: { address: '127.0.0.1', port, protocol: 'grpc' } });
    const started = Date.now();
    const r = await unary(client, { text: 'x' }, to('app1'));
    expect(r.err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.err?.details).toMatch(/connection error/);
    expect(Date.now() - started).toBeLessThan(3000);

    const again = await startEchoApp('app1', port);
    apps.push(again);
    expect((await unary(client, { text: 'back' }, to('app1'))).res?.text).toBe('app1:back');
    // The app restarts: the cached connection is gone, a new one is dialled.
    await again.close();
    const third = await startEchoApp('app1', port);
    apps.push(third);
    expect((await unary(client, { text: 'again' }, to('app1'))).res?.text).toBe('app1:again');
  });

  it('another app before name resolution is up, or one it cannot find: UNAVAILABLE naming it', async () => {
    const { sc, client } = await make({ appId: 'app1' });
    const early = await unary(client, { text: 'x' }, to('app2'));
    expect(early.err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(early.err?.details).toMatch(/not initialized/);
    sc.proxy.setLocate(async (id) => {
      throw new NoAddressError(`no host found with the given ID (${id})`);
    });
    const missing = await unary(client, { text: 'x' }, to('nosuchapp'));
    expect(missing.err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(missing.err?.details).toMatch(/nosuchapp/);
  });

  it('a target that never answers the connect fails within the connect timeout', async () => {
    const { sc, client } = await make({ appId: 'app1', connectTimeoutMs: 300 });
    // 192.0.2.0/24 is TEST-NET-1: nothing answers there.
    sc.proxy.setLocate(async () => ({ host: '192.0.2.1', port: 50002 }));
    const started = Date.now();
    const r = await unary(client, { text: 'x' }, to('app2'));
    expect(r.err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a caller that gives up while the target is being found leaves nothing behind', async () => {
    const { sc, client } = await make({ appId: 'app1' });
    let calls = 0;
    sc.proxy.setLocate((_id, _ns, signal) => {
      calls++;
      return new Promise((_r, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    });
    const r = await unary(client, { text: 'x' }, to('app2'), { deadline: Date.now() + 200 });
    expect(r.err?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(calls).toBe(1);
  });
});

describe('gRPC proxying across two sidecars', () => {
  let app2: EchoApp;
  let one: TestSidecar;
  let two: TestSidecar;
  let client: Echo;
  let resiliency: Resiliency = NO_RESILIENCY;
  const RESILIENCY = `  policies:
    timeouts:
      short: 300ms
    retries:
      once: {policy: constant, duration: 10ms, maxRetries: 1}
  targets:
    apps:
      app2: {timeout: short, retry: once}
`;
  const located: string[] = [];

  beforeAll(async () => {
    app2 = await startEchoApp('app2');
    // Each case picks its Resiliency (none by default).
    const current: Resiliency = { ...NO_RESILIENCY, app: (id, op, endpoint) => resiliency.app(id, op, endpoint) };
    one = await sidecar({ appId: 'app1', resiliency: current });
    two = await sidecar({ appId: 'app2', app: appOf(app2) });
    const locate: Locate = async (id, ns) => {
      located.push(`${id}|${ns}`);
      if (id === 'app2') return { host: '127.0.0.1', port: two.internalPort };
      throw new NoAddressError('no host found with the given ID');
    };
    one.proxy.setLocate(locate);
    client = echoClient(one.apiPort);
  });
  afterAll(async () => {
    client.close();
    one.close();
    two.close();
    await app2.close();
  });
  beforeEach(() => {
    app2.reset();
    resiliency = NO_RESILIENCY;
  });

  it('unary: the other app answers; it sees the calling app and itself as callee', async () => {
    const r = await unary(client, { text: 'hello' }, to('app2', [['x-bin-bin', Buffer.from([7, 0])], ['dapr-api-token', 'secret'], ['traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01']]));
    expect(r.err).toBeNull();
    expect(r.res?.text).toBe('app2:hello');
    expect(r.headers?.get('x-app')).toEqual(['app2']);
    expect(r.trailers?.get('x-trailer-bin')).toEqual([Buffer.from([9, 8, 7])]);
    const md = app2.seen[0]!.metadata;
    expect(md['dapr-caller-app-id']).toEqual(['app1']);
    expect(md['dapr-callee-app-id']).toEqual(['app2']);
    expect(md['dapr-app-id']).toEqual(['app2']);
    expect(md['x-bin-bin']).toEqual([Buffer.from([7, 0])]);
    expect(md['dapr-api-token']).toBeUndefined();
    expect(md.traceparent).toEqual(['00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01']);
    expect(located.at(-1)).toBe('app2|');
  });

  it('errors from the other app pass through', async () => {
    const r = await unary(client, { text: 'nope', code: grpc.status.FAILED_PRECONDITION }, to('app2'));
    expect(r.err?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(r.err?.details).toBe('app app2 failed: nope');
    expect(r.err?.metadata.get('x-err-bin')).toEqual([Buffer.from([1, 2, 3])]);
  });

  it('every streaming shape, marked dapr-stream or not', async () => {
    for (const marked of [false, true]) {
      const md = () => to('app2', marked ? [['dapr-stream', 'true']] : []);
      const s = await collect(client.ServerStream({ text: 'x', count: 3 }, md()));
      expect(s.messages.map((m) => m.text)).toEqual(['x-0', 'x-1', 'x-2']);
      const bidi = client.Bidi(md());
      const all = collect(bidi);
      bidi.write({ text: 'a' });
      bidi.write({ text: 'b' });
      bidi.end();
      expect((await all).messages.map((m) => m.text)).toEqual(['app2:a', 'app2:b']);
      expect((await clientStream(client, md(), ['p', 'q'])).res?.text).toBe('p,q');
    }
  });

  it('cancelling at the caller cancels the call at the other app', async () => {
    const call = client.Bidi(to('app2', [['dapr-stream', 'true']]));
    const done = collect(call);
    call.write({ text: 'first' });
    await until(() => app2.seen.some((s) => s.messages.length > 0), () => 'nothing reached app2');
    call.cancel();
    expect((await done).status.code).toBe(grpc.status.CANCELLED);
    await until(() => app2.cancelled.includes('Bidi'), () => `app2 saw no cancellation: ${app2.cancelled}`);
  });

  it('a retry policy resends the whole request to a target that failed it (trailers-only); the retried answer comes back', async () => {
    resiliency = resiliencyFrom(RESILIENCY, 'app1');
    app2.failNext = 1;
    const data = Buffer.alloc(100_000, 3);
    const r = await unary(client, { text: 'again', data }, to('app2'));
    expect(r.err).toBeNull();
    expect(r.res?.text).toBe('app2:again');
    expect(app2.seen.map((s) => [s.messages[0], s.bytes])).toEqual([
      ['again', 100_000],
      ['again', 100_000],
    ]);
  });

  it('a timeout policy ends a unary call (and cancels it at the app), but only the handshake of a dapr-stream call', async () => {
    resiliency = resiliencyFrom(RESILIENCY, 'app1');
    const r = await unary(client, { text: 'slow', delay_ms: 5000 }, to('app2'));
    expect(r.err?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await until(() => app2.cancelled.includes('Unary'), () => 'app2 saw no cancellation');

    // The same 300 ms policy: a stream marked dapr-stream outlives it.
    const call = client.ServerStream({ text: 'long', count: 6, delay_ms: 100 }, to('app2', [['dapr-stream', 'true']]));
    const s = await collect(call);
    expect(s.status.code).toBe(grpc.status.OK);
    expect(s.messages).toHaveLength(6);
  });

  it('without a retry, the failed answer reaches the caller as the target sent it', async () => {
    app2.failNext = 1;
    const r = await unary(client, { text: 'x' }, to('app2'));
    expect(r.err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.err?.details).toBe('flaky');
  });

  it('a 5 MB request and answer (beyond what a retry keeps) still go through', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024, 1);
    const r = await unary(client, { text: 'big', data: big }, to('app2'));
    expect(r.err).toBeNull();
    expect(r.res?.data.length).toBe(big.length);
  });

  it("another sidecar's calls: the caller identity it stamped reaches the app; a call for an app it does not serve is refused", async () => {
    const direct = echoClient(two.internalPort);
    try {
      const ok = await unary(direct, { text: 'x' }, metadata([['dapr-callee-app-id', 'app2'], ['dapr-caller-app-id', 'forged'], ['dapr-caller-app-id', 'app1']]));
      expect(ok.res?.text).toBe('app2:x');
      expect(app2.seen[0]!.metadata['dapr-caller-app-id']).toEqual(['app1']);
      const other = await unary(direct, { text: 'x' }, metadata([['dapr-callee-app-id', 'app3']]));
      expect(other.err?.code).toBe(grpc.status.UNAVAILABLE);
      expect(other.err?.details).toMatch(/serves app app2, not app3/);
    } finally {
      direct.close();
    }
  });

  it('an app id no sidecar has: UNAVAILABLE', async () => {
    const r = await unary(client, { text: 'x' }, to('ghost'));
    expect(r.err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.err?.details).toMatch(/ghost/);
  });
});
