// gRPC proxying with the built binary (daprd's "dapr-app-id" proxying): a plain grpc-js client
// calls the sidecar's Dapr gRPC port for a service the sidecar knows nothing of
// (proxytest.v1.Echo), and a plain grpc-js app serves it. One sidecar (the app calls itself) and
// two (app1 → sidecar1 → sidecar2 → app2, found through the default sqlite name resolution).
// (@dapr/dapr 3.18's client.proxy.create() throws on its ConnectRPC transport, so the plain
// grpc-js client stands in for it: it sends what that helper would, dapr-app-id metadata.)
import * as grpc from '@grpc/grpc-js';
import { daprClientConstructor } from '../../src/api/dapr-grpc/protos';
import { clientStream, collect, type Echo, echoClient, type EchoApp, metadata, type Msg, startEchoApp, to, unary } from '../../test/grpc-echo';
import { until } from '../../test/wait';
import { type Sidecar, startSidecar } from '../helpers/sidecar';

async function withApp(appId: string, args: string[] = []): Promise<{ app: EchoApp; sc: Sidecar }> {
  const app = await startEchoApp(appId);
  const sc = await startSidecar({ appId, layotto: false, args: ['--app-port', String(app.port), '--app-protocol', 'grpc', ...args] }).catch(async (e) => {
    await app.close();
    throw e;
  });
  return { app, sc };
}

describe('gRPC proxying: an app calls its own gRPC service through its sidecar', () => {
  let app: EchoApp;
  let sc: Sidecar;
  let client: Echo;

  beforeAll(async () => {
    ({ app, sc } = await withApp('proxy-self', ['--max-body-size', '16Mi']));
    client = echoClient(sc.grpcPort);
  });
  afterAll(async () => {
    client?.close();
    await sc?.stop();
    await app?.close();
  });
  beforeEach(() => app.reset());

  it('unary: the answer, response headers and trailers (binary ones too) arrive intact', async () => {
    const r = await unary(client, { text: 'hi', data: Buffer.from([0, 1, 2]) }, to('proxy-self', [['x-custom', 'v'], ['x-key-bin', Buffer.from([255, 0])]]));
    expect(r.err).toBeNull();
    expect(r.res).toMatchObject({ text: 'proxy-self:hi', data: Buffer.from([0, 1, 2]) });
    expect(r.headers?.get('x-app')).toEqual(['proxy-self']);
    expect(r.headers?.get('x-bin-bin')).toEqual([Buffer.from([0, 1, 2, 255])]);
    expect(r.trailers?.get('x-trailer-bin')).toEqual([Buffer.from([9, 8, 7])]);
    const md = app.seen[0]!.metadata;
    expect(md['x-custom']).toEqual(['v']);
    expect(md['x-key-bin']).toEqual([Buffer.from([255, 0])]);
    expect(md['dapr-app-id']).toEqual(['proxy-self']);
    expect(md['dapr-caller-app-id']).toEqual(['proxy-self']);
    expect(md['dapr-callee-app-id']).toEqual(['proxy-self']);
  });

  it("the app's status code, message and error metadata pass through", async () => {
    const r = await unary(client, { text: 'no', code: grpc.status.NOT_FOUND }, to('proxy-self'));
    expect(r.err?.code).toBe(grpc.status.NOT_FOUND);
    expect(r.err?.details).toBe('app proxy-self failed: no');
    expect(r.err?.metadata.get('x-err-bin')).toEqual([Buffer.from([1, 2, 3])]);
  });

  it('server, client and bidi streaming', async () => {
    const s = await collect(client.ServerStream({ text: 's', count: 4 }, to('proxy-self')));
    expect(s.messages.map((m) => m.text)).toEqual(['s-0', 's-1', 's-2', 's-3']);
    expect(s.status.code).toBe(grpc.status.OK);

    expect((await clientStream(client, to('proxy-self'), ['a', 'b'])).res?.text).toBe('a,b');

    const bidi = client.Bidi(to('proxy-self', [['dapr-stream', 'true']]));
    const first = new Promise<Msg>((r) => bidi.once('data', r));
    bidi.write({ text: 'ping' });
    expect((await first).text).toBe('proxy-self:ping'); // answered while the stream is still open
    const rest = collect(bidi);
    bidi.write({ text: 'pong' });
    bidi.end();
    const done = await rest;
    expect(done.messages.map((m) => m.text)).toEqual(['proxy-self:pong']);
    expect(done.status.code).toBe(grpc.status.OK);
  });

  it('a 5 MB message each way', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024, 5);
    const r = await unary(client, { text: 'big', data: big }, to('proxy-self'));
    expect(r.err).toBeNull();
    expect(r.res?.data.equals(big)).toBe(true);
  });

  it('a cancelled call is cancelled at the app', async () => {
    const call = client.ServerStream({ text: 'slow', count: 1000, delay_ms: 50 }, to('proxy-self'));
    const done = collect(call);
    await new Promise((r) => call.once('data', r));
    call.cancel();
    expect((await done).status.code).toBe(grpc.status.CANCELLED);
    await until(() => app.cancelled.includes('ServerStream'), () => 'the app saw no cancellation');
  });

  it('the deadline reaches the app and ends the call there', async () => {
    const r = await unary(client, { text: 'late', delay_ms: 30_000 }, to('proxy-self'), { deadline: Date.now() + 500 });
    expect(r.err?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(Number.isFinite(app.seen[0]!.deadline)).toBe(true);
    await until(() => app.cancelled.includes('Unary'), () => 'the app saw no cancellation');
  });

  it('Dapr API rpcs are served by the sidecar, not proxied, even with dapr-app-id', async () => {
    const Dapr = daprClientConstructor();
    const dapr = new Dapr(`127.0.0.1:${sc.grpcPort}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      GetMetadata(req: object, md: grpc.Metadata, cb: (e: grpc.ServiceError | null, r?: { id: string }) => void): void;
    };
    try {
      for (let i = 0; i < 20; i++) {
        const res = await new Promise<{ id: string } | undefined>((resolve, reject) => dapr.GetMetadata({}, to('proxy-self'), (e, r) => (e ? reject(e) : resolve(r))));
        expect(res?.id).toBe('proxy-self');
      }
      expect(app.seen).toHaveLength(0);
    } finally {
      dapr.close();
    }
  });

  it('without dapr-app-id an unknown method is UNIMPLEMENTED, as before', async () => {
    const r = await unary(client, { text: 'x' }, metadata([]));
    expect(r.err?.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(app.seen).toHaveLength(0);
  });
});

describe('gRPC proxying across two sidecars (sqlite name resolution, the default)', () => {
  let one: { app: EchoApp; sc: Sidecar };
  let two: { app: EchoApp; sc: Sidecar };
  let client: Echo;

  beforeAll(async () => {
    one = await withApp('proxy-one');
    two = await withApp('proxy-two');
    client = echoClient(one.sc.grpcPort);
  });
  afterAll(async () => {
    client?.close();
    await Promise.all([one?.sc.stop(), two?.sc.stop()]);
    await Promise.all([one?.app.close(), two?.app.close()]);
  });
  beforeEach(() => two.app.reset());

  it('unary to the other app: answer, metadata and trailers intact; it sees who called', async () => {
    const r = await unary(client, { text: 'across' }, to('proxy-two', [['x-key-bin', Buffer.from([1, 255])]]));
    expect(r.err).toBeNull();
    expect(r.res?.text).toBe('proxy-two:across');
    expect(r.headers?.get('x-app')).toEqual(['proxy-two']);
    expect(r.trailers?.get('x-trailer-bin')).toEqual([Buffer.from([9, 8, 7])]);
    const md = two.app.seen[0]!.metadata;
    expect(md['x-key-bin']).toEqual([Buffer.from([1, 255])]);
    expect(md['dapr-caller-app-id']).toEqual(['proxy-one']);
    expect(md['dapr-callee-app-id']).toEqual(['proxy-two']);
    expect(one.app.seen).toHaveLength(0);
  });

  it("the other app's errors pass through", async () => {
    const r = await unary(client, { text: 'bad', code: grpc.status.OUT_OF_RANGE }, to('proxy-two'));
    expect(r.err?.code).toBe(grpc.status.OUT_OF_RANGE);
    expect(r.err?.details).toBe('app proxy-two failed: bad');
    expect(r.err?.metadata.get('x-err')).toEqual(['e']);
  });

  it('server, client and bidi streaming', async () => {
    const s = await collect(client.ServerStream({ text: 'r', count: 3 }, to('proxy-two', [['dapr-stream', 'true']])));
    expect(s.messages.map((m) => m.text)).toEqual(['r-0', 'r-1', 'r-2']);
    expect((await clientStream(client, to('proxy-two'), ['x', 'y', 'z'])).res?.text).toBe('x,y,z');
    const bidi = client.Bidi(to('proxy-two'));
    const first = new Promise<Msg>((r) => bidi.once('data', r));
    bidi.write({ text: '1' });
    expect((await first).text).toBe('proxy-two:1');
    const rest = collect(bidi);
    bidi.write({ text: '2' });
    bidi.end();
    expect((await rest).messages.map((m) => m.text)).toEqual(['proxy-two:2']);
  });

  it('a cancelled call is cancelled at the other app', async () => {
    const call = client.Bidi(to('proxy-two', [['dapr-stream', 'true']]));
    const done = collect(call);
    call.write({ text: 'hold' });
    await until(() => two.app.seen.some((s) => s.method === 'Bidi' && s.messages.length > 0), () => 'nothing reached proxy-two');
    call.cancel();
    expect((await done).status.code).toBe(grpc.status.CANCELLED);
    await until(() => two.app.cancelled.includes('Bidi'), () => 'proxy-two saw no cancellation');
  });

  it('the deadline passes to the other app', async () => {
    const r = await unary(client, { text: 'late', delay_ms: 30_000 }, to('proxy-two'), { deadline: Date.now() + 500 });
    expect(r.err?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(Number.isFinite(two.app.seen[0]!.deadline)).toBe(true);
    await until(() => two.app.cancelled.includes('Unary'), () => 'proxy-two saw no cancellation');
  });

  it('a message over --max-body-size (4Mi by default): RESOURCE_EXHAUSTED, the app never sees it', async () => {
    const r = await unary(client, { text: 'huge', data: Buffer.alloc(5 * 1024 * 1024) }, to('proxy-two'));
    expect(r.err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(r.err?.details).toMatch(/larger than max/);
    expect(two.app.seen).toHaveLength(0);
  });

  it('an app id no sidecar has: UNAVAILABLE naming it, at once', async () => {
    const started = Date.now();
    const r = await unary(client, { text: 'x' }, to('proxy-nobody'));
    expect(r.err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.err?.details).toMatch(/proxy-nobody/);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a sidecar that went away: UNAVAILABLE, no hang, and the caller sidecar keeps serving', async () => {
    const three = await withApp('proxy-three');
    expect((await unary(client, { text: 'up' }, to('proxy-three'))).res?.text).toBe('proxy-three:up');
    await three.sc.stop();
    await three.app.close();
    const r = await unary(client, { text: 'down' }, to('proxy-three'), { deadline: Date.now() + 10_000 });
    expect(r.err?.code).toBe(grpc.status.UNAVAILABLE);
    expect((await unary(client, { text: 'still' }, to('proxy-two'))).res?.text).toBe('proxy-two:still');
  });
});
