import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { requireService } from '../../../../test/services';
import { admittedPerSecond, grpcExchange, offerRate, proxyExchange } from '../../../../test/proxy-exchange';
import { FilterChain } from '../../chain';
import type { Exchange } from '../../filter';
import { filterRegistry } from '../../builtin';
import { createProxyRateLimit, LOCAL_RATE_LIMITED, type ProxyRateLimitFilter, RATE_LIMITED } from './ratelimit';

const log = pino({ level: 'silent' });
const ctx = { appId: 'app', log };

/** A local filter on a clock the test steps. */
async function stepped(settings: Record<string, unknown>) {
  const clock = { now: 0 };
  const filter = await createProxyRateLimit(settings, ctx, () => clock.now);
  const admitted = (ex: () => Exchange, n: number) => Array.from({ length: n }, () => filter.onRequest!(ex()) === undefined).filter(Boolean).length;
  return { clock, filter, admitted };
}

describe('proxy.ratelimit (local token buckets)', () => {
  it('admits `rate` per `per` per key, refilling by elapsed time; burst defaults to the rate', async () => {
    const { clock, admitted } = await stepped({ rules: [{ key: 'client', rate: 10, per: '1s' }] });
    const a = () => proxyExchange({ remoteAddress: '10.0.0.1:5000' });
    expect(admitted(a, 25)).toBe(10);
    expect(admitted(() => proxyExchange({ remoteAddress: '::ffff:10.0.0.2' }), 25)).toBe(10); // its own bucket
    clock.now = 250; // a quarter second: 2.5 tokens
    expect(admitted(a, 5)).toBe(2);
    clock.now = 60_000; // never more than the burst
    expect(admitted(a, 25)).toBe(10);
  });

  it('honours burst and a `per` other than a second', async () => {
    const { clock, admitted } = await stepped({ rules: [{ rate: 60, per: '1m', burst: 2 }] });
    expect(admitted(() => proxyExchange(), 5)).toBe(2);
    clock.now = 1000; // one per second
    expect(admitted(() => proxyExchange(), 5)).toBe(1);
    clock.now = 2500;
    expect(admitted(() => proxyExchange(), 5)).toBe(1);
  });

  it('keys by path, header value (missing header = one shared key), gRPC method, a combination, or none', async () => {
    const byPath = await stepped({ rules: [{ key: 'path', rate: 1 }] });
    expect(byPath.admitted(() => proxyExchange({ path: '/a' }), 3)).toBe(1);
    expect(byPath.admitted(() => proxyExchange({ path: '/b' }), 3)).toBe(1);

    const byHeader = await stepped({ rules: [{ key: 'header:X-Tenant', rate: 1 }] });
    const tenant = (t?: string) => () => proxyExchange({ headers: t ? { 'x-tenant': t } : {} });
    expect(byHeader.admitted(tenant('a'), 3)).toBe(1);
    expect(byHeader.admitted(tenant('b'), 3)).toBe(1);
    expect(byHeader.admitted(tenant(), 3)).toBe(1);

    const byMethod = await stepped({ rules: [{ key: 'grpc-method', rate: 1 }] });
    expect(byMethod.admitted(() => grpcExchange('/pkg.Svc/A'), 3)).toBe(1);
    expect(byMethod.admitted(() => grpcExchange('/pkg.Svc/B'), 3)).toBe(1);
    expect(byMethod.admitted(() => proxyExchange(), 3)).toBe(3); // HTTP requests have no gRPC method

    const combined = await stepped({ rules: [{ key: ['client', 'path'], rate: 1 }] });
    expect(combined.admitted(() => proxyExchange({ path: '/a' }), 2)).toBe(1);
    expect(combined.admitted(() => proxyExchange({ path: '/a', remoteAddress: '10.1.1.1' }), 2)).toBe(1);

    const one = await stepped({ rules: [{ key: 'none', rate: 2 }] });
    expect(one.admitted(() => proxyExchange({ path: `/${randomUUID()}`, remoteAddress: `10.0.0.${Math.floor(Math.random() * 200)}` }), 5)).toBe(2);
  });

  it('applies a rule to its route and cluster only; every matching rule must admit', async () => {
    const { admitted } = await stepped({
      rules: [
        { route: 'orders', rate: 2 },
        { cluster: 'payments', rate: 1 },
      ],
    });
    expect(admitted(() => proxyExchange({}, { route: 'orders' }), 5)).toBe(2);
    expect(admitted(() => proxyExchange({}, { route: 'users' }), 5)).toBe(5);
    expect(admitted(() => proxyExchange({}, { route: 'users', cluster: 'payments' }), 5)).toBe(1);
    // orders to payments: the cluster rule's bucket is spent already
    expect(admitted(() => proxyExchange({}, { route: 'orders', cluster: 'payments' }), 5)).toBe(0);
  });

  it('answers a refused request locally: 429 / RESOURCE_EXHAUSTED, errorCode RATE_LIMITED; status and body configurable', async () => {
    const chain = new FilterChain([(await stepped({ rules: [{ rate: 1 }] })).filter]);
    expect(await chain.request(proxyExchange())).toBeUndefined();
    const ex = proxyExchange();
    const v = await chain.request(ex);
    expect(ex.errorCode).toBe(RATE_LIMITED);
    expect(v).toEqual({ http: { status: 429, body: LOCAL_RATE_LIMITED, contentType: 'text/plain; charset=utf-8' }, grpc: { code: 8, details: LOCAL_RATE_LIMITED } });

    const custom = (await stepped({ rules: [{ rate: 1 }], status: 503, body: 'slow down' })).filter;
    custom.onRequest!(proxyExchange());
    expect(custom.onRequest!(proxyExchange())).toMatchObject({ http: { status: 503, body: 'slow down' }, grpc: { code: 8, details: 'slow down' } });
  });

  it('applies to the proxy only, and is registered as proxy.ratelimit', async () => {
    const f = await filterRegistry.create('proxy.ratelimit', { rules: [{ rate: 1 }] }, ctx);
    expect(f.apis).toEqual(['proxy']);
    const chain = new FilterChain([f]);
    expect(chain.isEmpty('dapr-http')).toBe(true);
    expect(chain.isEmpty('proxy')).toBe(false);
  });

  it('bounds its keys: a flood of distinct clients keeps at most maxKeys buckets', async () => {
    const { filter, admitted } = await stepped({ rules: [{ key: 'header:x-id', rate: 1 }], maxKeys: 50 });
    for (let i = 0; i < 5000; i++) filter.onRequest!(proxyExchange({ headers: { 'x-id': String(i) } }));
    expect(filter.liveKeys()).toBe(50);
    // The first key was forgotten (its bucket is full again); the newest is remembered.
    expect(admitted(() => proxyExchange({ headers: { 'x-id': '0' } }), 1)).toBe(1);
    expect(admitted(() => proxyExchange({ headers: { 'x-id': '4999' } }), 1)).toBe(0);
  });

  it('keeps a key in use through a flood of new ones (least recently used goes first)', async () => {
    const { filter, admitted } = await stepped({ rules: [{ key: 'header:x-id', rate: 1 }], maxKeys: 50 });
    const hot = () => proxyExchange({ headers: { 'x-id': 'hot' } });
    expect(admitted(hot, 1)).toBe(1);
    for (let i = 0; i < 5000; i++) {
      filter.onRequest!(proxyExchange({ headers: { 'x-id': String(i) } }));
      if (i % 10 === 0) expect(admitted(hot, 1)).toBe(0); // still its spent bucket, not a fresh one
    }
  });

  it('forgets idle keys on its periodic sweep', async () => {
    const { clock, filter } = await stepped({ rules: [{ key: 'client', rate: 100 }] });
    for (let i = 0; i < 200; i++) filter.onRequest!(proxyExchange({ remoteAddress: `10.0.${i >> 8}.${i & 255}` }));
    expect(filter.liveKeys()).toBe(200);
    clock.now = 20_000;
    filter.onRequest!(proxyExchange({ remoteAddress: '10.9.9.9' }));
    expect(filter.liveKeys()).toBe(1);
  });

  it.each([
    [{}, /^proxy\.ratelimit config\.rules: /],
    [{ rules: [] }, /config\.rules: needs at least one rule/],
    [{ rules: [{ rate: 0 }] }, /config\.rules\.0\.rate: must be a positive number/],
    [{ rules: [{ rate: 1, key: 'cookie' }] }, /config\.rules\.0\.key: .*'client', 'path', 'grpc-method', 'header:<name>' or 'none'/],
    [{ rules: [{ rate: 1, key: ['client', 'header:'] }] }, /config\.rules\.0\.key/],
    [{ rules: [{ rate: 1, per: 'soon' }] }, /config\.rules\.0\.per: invalid duration "soon"/],
    [{ rules: [{ rate: 1, per: 0 }] }, /config\.rules\.0\.per: must be a positive duration/],
    [{ rules: [{ rate: 1, burst: 0.5 }] }, /config\.rules\.0\.burst/],
    [{ rules: [{ rate: 1, rout: 'x' }] }, /config\.rules\.0: Unrecognized key: "rout"/],
    [{ rules: [{ rate: 1 }], status: 200 }, /config\.status/],
    [{ rules: [{ rate: 1 }], shared: { keyPrefix: 'x' } }, /config\.shared: redisHost is required/],
  ])('refuses a bad config with the field: %j', async (bad, message) => {
    await expect(filterRegistry.create('proxy.ratelimit', bad, ctx)).rejects.toThrow(message);
  });

  it('admits 100 ± 5% per second of a 100/s limit under 500 req/s offered (real time)', async () => {
    const filter = await createProxyRateLimit({ rules: [{ key: 'client', rate: 100, per: '1s' }] }, ctx);
    const offered = await offerRate([filter], 500, 4000, () => proxyExchange());
    // From 1 s on: the initial burst is long spent and the refill is what admits.
    const perSecond = admittedPerSecond(offered, 1000, 4000);
    expect(perSecond).toBeGreaterThanOrEqual(95);
    expect(perSecond).toBeLessThanOrEqual(105);
    expect(offered.filter((o) => o.at >= 1000 && o.at < 4000).length).toBeGreaterThan(1000); // it really was offered ~500/s
  }, 15000);
});

describe('proxy.ratelimit shared through Redis', () => {
  let redisUp = false;
  const filters: ProxyRateLimitFilter[] = [];
  beforeAll(async () => {
    redisUp = await requireService('redis', '127.0.0.1', 6379);
  });
  afterEach(async () => {
    await Promise.all(filters.splice(0).map((f) => f.close()));
  });
  const pair = async (settings: Record<string, unknown>) => {
    const two = await Promise.all([0, 1].map(() => createProxyRateLimit(settings, ctx)));
    filters.push(...two);
    return two;
  };

  it('two filters with one keyPrefix admit the limit between them', async () => {
    if (!redisUp) return;
    // A 10 s window: the burst cannot straddle two windows.
    const [a, b] = await pair({ rules: [{ key: 'client', rate: 5, per: '10s' }], shared: { redisHost: 'localhost:6379', keyPrefix: `test-prl-${randomUUID()}` } });
    const exs = Array.from({ length: 20 }, () => proxyExchange());
    const verdicts = await Promise.all(exs.map((ex, i) => [a, b][i % 2]!.onRequest!(ex)));
    expect(verdicts.filter((v) => v === undefined)).toHaveLength(5);
    expect(verdicts.find((v) => v)).toMatchObject({ http: { status: 429 }, grpc: { code: 8 } });
    expect(exs.filter((ex) => ex.errorCode === RATE_LIMITED)).toHaveLength(15);
  });

  it('keeps rules and keys apart in Redis', async () => {
    if (!redisUp) return;
    const [a, b] = await pair({ rules: [{ route: 'r1', key: 'path', rate: 1, per: 10 * 1000 }, { route: 'r2', rate: 2, per: '10s' }], shared: { redisHost: 'localhost:6379', keyPrefix: `test-prl-${randomUUID()}` } });
    const run = async (ex: () => Exchange, n: number) => (await Promise.all(Array.from({ length: n }, (_, i) => [a, b][i % 2]!.onRequest!(ex())))).filter((v) => v === undefined).length;
    expect(await run(() => proxyExchange({ path: '/x' }, { route: 'r1' }), 4)).toBe(1);
    expect(await run(() => proxyExchange({ path: '/y' }, { route: 'r1' }), 4)).toBe(1);
    expect(await run(() => proxyExchange({}, { route: 'r2' }), 4)).toBe(2);
    expect(await run(() => proxyExchange({}, { route: 'r3' }), 4)).toBe(4);
  });

  it('admits 100 ± 5% per second in total across two filters under 500 req/s offered (real time)', async () => {
    if (!redisUp) return;
    const pairOf = await pair({ rules: [{ rate: 100, per: '1s' }], shared: { redisHost: 'localhost:6379', keyPrefix: `test-prl-${randomUUID()}` } });
    const offered = await offerRate(pairOf, 500, 4000, () => proxyExchange());
    const perSecond = admittedPerSecond(offered, 1000, 4000);
    expect(perSecond).toBeGreaterThanOrEqual(95);
    expect(perSecond).toBeLessThanOrEqual(105);
  }, 15000);

  it('a wrong Redis address fails at creation', async () => {
    await expect(createProxyRateLimit({ rules: [{ rate: 1 }], shared: { redisHost: '127.0.0.1:1', dialTimeout: '500ms' } }, ctx)).rejects.toThrow(/proxy\.ratelimit: error connecting to redis at 127\.0\.0\.1:1/);
  });
});
