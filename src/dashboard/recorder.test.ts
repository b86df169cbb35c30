import { exchange } from '../../test/exchange';
import { FilterChain } from '../mesh/chain';
import type { Filter } from '../mesh/filter';
import { TrafficRecorder } from './recorder';

const limiter = (name: string, refuse: boolean | Promise<boolean>): Filter => ({
  name,
  onRequest: () => (typeof refuse === 'boolean' ? (refuse ? { http: { status: 429, body: '' }, grpc: { code: 8, details: '' } } : undefined) : refuse.then((r) => (r ? { http: { status: 429, body: '' }, grpc: { code: 8, details: '' } } : undefined))),
});

describe('TrafficRecorder', () => {
  it('counts per API and route, with a rate over the window and latency percentiles', () => {
    const r = new TrafficRecorder();
    const now = process.hrtime.bigint();
    for (let i = 1; i <= 100; i++) r.filter.onResponse!(exchange({ route: '/v1.0/state/:storeName/:key', status: 200, startNs: now - BigInt(i * 1_000_000) }));
    r.filter.onResponse!(exchange({ api: 'dapr-grpc', protocol: 'grpc', route: '/dapr.proto.runtime.v1.Dapr/GetState', status: 0, startNs: now }));
    const s = r.snapshot();
    const state = s.routes.find((x) => x.api === 'dapr-http')!;
    expect(state).toMatchObject({ route: '/v1.0/state/:storeName/:key', count: 100, errors: 0, rate: 10 });
    expect(state.p50).toBeGreaterThanOrEqual(50);
    expect(state.p99).toBeGreaterThanOrEqual(99);
    expect(s.routes.find((x) => x.api === 'dapr-grpc')).toMatchObject({ count: 1, errors: 0 });
    // Ten seconds on, the rate window is empty; the count stays.
    expect(r.snapshot(Date.now() + 11_000).routes[0]).toMatchObject({ count: 100, rate: 0 });
  });

  it('keeps the last error answers, newest first, with the HTTP status or the gRPC code name', () => {
    const r = new TrafficRecorder();
    r.filter.onResponse!(exchange({ route: '/v1.0/state/:storeName/:key', status: 400, errorCode: 'ERR_STATE_STORE_NOT_FOUND', message: 'state store x is not found', startNs: process.hrtime.bigint() }));
    r.filter.onResponse!(exchange({ api: 'layotto-grpc', protocol: 'grpc', route: '/spec.proto.runtime.v1.Runtime/GetState', status: 3, message: 'bad', startNs: process.hrtime.bigint() }));
    for (let i = 0; i < 60; i++) r.filter.onResponse!(exchange({ status: 200, startNs: process.hrtime.bigint() }));
    const { errors } = r.snapshot();
    expect(errors.map((e) => [e.api, e.status, e.code, e.message])).toEqual([
      ['layotto-grpc', 'InvalidArgument', '', 'bad'],
      ['dapr-http', '400', 'ERR_STATE_STORE_NOT_FOUND', 'state store x is not found'],
    ]);
    for (let i = 0; i < 80; i++) r.filter.onResponse!(exchange({ status: 500, startNs: process.hrtime.bigint() }));
    expect(r.snapshot().errors).toHaveLength(50);
  });

  it('counts refusals by the rate-limit filter that answered, sync or async, and not as recent errors', async () => {
    const r = new TrafficRecorder();
    const chain = new FilterChain([r.filter, ...[limiter('api-token', false), limiter('middleware.http.ratelimit', true)].map((f) => r.watch(f))]);
    const asyncChain = new FilterChain([r.filter, r.watch(limiter('middleware.grpc.flowcontrol', Promise.resolve(true)))]);
    for (const [c, ex] of [[chain, exchange({ route: '/r', startNs: process.hrtime.bigint() })], [asyncChain, exchange({ api: 'dapr-grpc', protocol: 'grpc', route: '/m', startNs: process.hrtime.bigint() })]] as const) {
      const verdict = await c.request(ex);
      ex.status = ex.protocol === 'grpc' ? verdict!.grpc.code : verdict!.http.status;
      c.response(ex);
    }
    // The proxy's rate limit marks its refusals itself.
    r.filter.onResponse!(exchange({ api: 'proxy', proxy: { listener: 'l', host: 'h', route: 'tight' }, status: 429, errorCode: 'RATE_LIMITED', startNs: process.hrtime.bigint() }));
    const s = r.snapshot();
    expect(s.rejections.map((x) => [x.api, x.route, x.filter, x.count])).toEqual([
      ['dapr-http', '/r', 'middleware.http.ratelimit', 1],
      ['dapr-grpc', '/m', 'middleware.grpc.flowcontrol', 1],
      ['proxy', 'tight', 'proxy.ratelimit', 1],
    ]);
    expect(s.errors).toEqual([]);
    expect(s.routes.every((x) => x.errors === 1)).toBe(true);
  });

  it('leaves a watched filter its own members (close, name)', async () => {
    const closed: string[] = [];
    const f: Filter = { name: 'x', onRequest: () => undefined, close: async () => void closed.push('x') };
    const w = new TrafficRecorder().watch(f);
    expect(w.name).toBe('x');
    await w.close!();
    expect(closed).toEqual(['x']);
  });
});
