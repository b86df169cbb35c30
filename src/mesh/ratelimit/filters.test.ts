import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { requireService } from '../../../test/services';
import { ComponentConfigError } from '../../components/types';
import { FilterChain } from '../chain';
import type { Api, Exchange } from '../filter';
import { DEFAULT_ACTION, flowControl, grpcFlowControl } from './flow-control';
import { createHttpRateLimit, httpRateLimit, LIMITED_BODY } from './http-ratelimit';
import { connectShared, RedisLimiter } from './shared';

const log = pino({ level: 'silent' });
const ctx = { appId: 'app', log };

function exchange(over: Partial<Exchange> = {}): Exchange {
  return { api: 'dapr-http', protocol: 'http', verb: 'GET', route: '/v1.0/state/:storeName/:key', path: '/v1.0/state/s/k', headers: {}, remoteAddress: '127.0.0.1', streaming: false, startNs: 0n, attrs: new Map(), ...over };
}
const grpcCall = (path: string, api: Api = 'layotto-grpc', streaming = false) => exchange({ api, protocol: 'grpc', verb: 'POST', route: path, path, streaming });

async function outcomes(chain: FilterChain, ex: () => Exchange, n: number) {
  const out: (string | number)[] = [];
  for (let i = 0; i < n; i++) {
    const v = await chain.request(ex());
    out.push(v ? (ex().protocol === 'grpc' ? v.grpc.code : v.http.status) : 'ok');
  }
  return out;
}

describe('middleware.http.ratelimit', () => {
  it('admits maxRequestsPerSecond per client and path, then answers as daprd (429, text/plain)', async () => {
    let now = 0;
    const chain = new FilterChain([await createHttpRateLimit({ maxRequestsPerSecond: '2' }, () => now)]);
    expect(await outcomes(chain, () => exchange(), 3)).toEqual(['ok', 'ok', 429]);
    const v = await chain.request(exchange());
    expect(v?.http).toEqual({ status: 429, body: LIMITED_BODY, contentType: 'text/plain; charset=utf-8', headers: { 'X-Rate-Limit-Limit': '2.00', 'X-Rate-Limit-Duration': '1' } });
    expect(LIMITED_BODY).toBe('You have reached maximum request limit.');
    // another path, another client: their own buckets
    expect(await chain.request(exchange({ path: '/v1.0/state/s/other' }))).toBeUndefined();
    expect(await chain.request(exchange({ remoteAddress: '::ffff:10.0.0.2' }))).toBeUndefined();
    now = 500; // half a second refills one
    expect(await outcomes(chain, () => exchange(), 2)).toEqual(['ok', 429]);
  });

  it('runs on the Dapr HTTP API only and defaults to 100/s', async () => {
    const f = await createHttpRateLimit({}, () => 0);
    expect(f.apis).toEqual(['dapr-http']);
    const chain = new FilterChain([f]);
    expect((await outcomes(chain, () => exchange(), 101)).filter((o) => o === 'ok')).toHaveLength(100);
    expect(chain.isEmpty('layotto-grpc')).toBe(true);
  });

  it.each([['-1'], ['0'], ['abc']])('refuses maxRequestsPerSecond %s with a clear error naming the field', async (value) => {
    const e = await Promise.resolve(httpRateLimit({ maxRequestsPerSecond: value }, ctx)).then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(ComponentConfigError);
    expect((e as ComponentConfigError).field).toBe('maxRequestsPerSecond');
    expect((e as Error).message).toMatch(/^metadata field "maxRequestsPerSecond": /);
  });

  it('reads metadata names case-insensitively, as Dapr does', async () => {
    const chain = new FilterChain([await createHttpRateLimit({ MaxRequestsPerSecond: '1' }, () => 0)]);
    expect(await outcomes(chain, () => exchange(), 2)).toEqual(['ok', 429]);
  });
});

describe('flowControlFilter (Layotto config)', () => {
  const sayHello = '/spec.proto.runtime.v1.Runtime/SayHello';
  const config = { global_switch: true, limit_key_type: 'PATH', rules: [{ resource: sayHello, grade: 1, threshold: 5 }] };

  it('limits the named method to threshold per grade seconds; others pass; refused calls fail with UNKNOWN and the action body', async () => {
    const chain = new FilterChain([await flowControl(config, ctx)]);
    expect(await outcomes(chain, () => grpcCall(sayHello), 8)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 2, 2, 2]);
    const v = await chain.request(grpcCall(sayHello));
    expect(v?.grpc).toEqual({ code: 2, details: 'current request is limited' });
    expect(v?.http).toMatchObject({ status: 509, body: 'current request is limited' });
    expect(await chain.request(grpcCall('/spec.proto.runtime.v1.Runtime/GetState'))).toBeUndefined();
  });

  it('refuses new streams too', async () => {
    const sub = '/spec.proto.runtime.v1.Runtime/SubscribeConfiguration';
    const chain = new FilterChain([await flowControl({ ...config, rules: [{ resource: sub, threshold: 1 }] }, ctx)]);
    expect(await outcomes(chain, () => grpcCall(sub, 'layotto-grpc', true), 2)).toEqual(['ok', 2]);
  });

  it('applies the action and window from the config, and per resource', async () => {
    const { buildFlowControl, flowControlSchema } = await import('./flow-control');
    let now = 0;
    const cfg = flowControlSchema.parse({ global_switch: true, rules: [{ resource: '/a', grade: 2, threshold: 1 }, { resource: '/b', threshold: 1, statIntervalInMs: 100 }], action: { status: 429, body: 'slow down' } });
    const chain = new FilterChain([await buildFlowControl(cfg, ctx, () => now)]);
    expect(await outcomes(chain, () => grpcCall('/a', 'dapr-grpc'), 2)).toEqual(['ok', 2]);
    expect(await outcomes(chain, () => grpcCall('/b', 'dapr-grpc'), 2)).toEqual(['ok', 2]);
    expect((await chain.request(exchange({ path: '/a' })))?.http).toMatchObject({ status: 429, body: 'slow down' });
    now = 250; // /b's 100 ms window is long gone, /a's 2 s one is not
    expect(await chain.request(grpcCall('/b', 'dapr-grpc'))).toBeUndefined();
    expect(await chain.request(grpcCall('/a', 'dapr-grpc'))).toBeDefined();
    expect(DEFAULT_ACTION).toEqual({ status: 509, body: 'current request is limited' });
  });

  it('limits nothing when global_switch is off (its default)', async () => {
    const chain = new FilterChain([await flowControl({ rules: config.rules }, ctx)]);
    expect(await outcomes(chain, () => grpcCall(sayHello), 10)).not.toContain(2);
  });

  it.each([
    [{ ...config, limit_key_type: 'ARG' }, /limit_key_type ARG .* is not supported/],
    [{ ...config, limit_key_type: 'HEADER' }, /config\.limit_key_type: /],
    [{ ...config, rules: [{ resource: sayHello, threshold: -1 }] }, /config\.rules\.0\.threshold: must not be negative/],
    [{ ...config, rules: [{ resource: sayHello, threshold: 5, grade: 0 }] }, /config\.rules\.0\.grade: must be a positive number of seconds/],
    [{ ...config, rules: [{ threshold: 5 }] }, /config\.rules\.0\.resource/],
  ])('refuses a bad config with the JSON path: %j', async (bad, message) => {
    await expect(flowControl(bad as Record<string, unknown>, ctx)).rejects.toThrow(message);
  });

  it('accepts and ignores Sentinel/MOSN keys it does not use', async () => {
    await expect(flowControl({ ...config, app_name: 'x', log_path: '/tmp', monitor: false, rules: [{ ...config.rules[0], controlBehavior: 0, tokenCalculateStrategy: 0 }] }, ctx)).resolves.toBeDefined();
  });
});

describe('middleware.grpc.flowcontrol (YAML component)', () => {
  it('reads rules as JSON or YAML text, switched on by default', async () => {
    const rules = '- resource: /spec.proto.runtime.v1.Runtime/SayHello\n  threshold: 1\n';
    const chain = new FilterChain([await grpcFlowControl({ rules, actionBody: 'busy' }, ctx)]);
    const out = await outcomes(chain, () => grpcCall('/spec.proto.runtime.v1.Runtime/SayHello'), 2);
    expect(out).toEqual(['ok', 2]);
    expect((await chain.request(grpcCall('/spec.proto.runtime.v1.Runtime/SayHello')))?.grpc.details).toBe('busy');
    const json = new FilterChain([await grpcFlowControl({ Rules: '[{"resource":"/x","threshold":0}]', globalSwitch: 'true' }, ctx)]);
    expect(await json.request(grpcCall('/x'))).toBeDefined();
  });

  it('names the metadata field of a bad setting', async () => {
    await expect(grpcFlowControl({ rules: '[{"resource": "/x", "threshold": -2}]' }, ctx)).rejects.toMatchObject({ field: 'rules', message: expect.stringMatching(/^metadata field "rules": 0\.threshold: must not be negative/) });
    await expect(grpcFlowControl({ rules: '{ not yaml: [' }, ctx)).rejects.toMatchObject({ field: 'rules' });
    await expect(grpcFlowControl({ rules: '[]', actionStatus: 'abc' }, ctx)).rejects.toMatchObject({ field: 'actionStatus' });
    await expect(grpcFlowControl({ rules: '[]', limitKeyType: 'ARG' }, ctx)).rejects.toMatchObject({ field: 'limitKeyType' });
  });
});

describe('shared through Redis', () => {
  let redisUp = false;
  beforeAll(async () => {
    redisUp = await requireService('redis', '127.0.0.1', 6379);
  });

  it('two filters with one keyPrefix admit the limit between them', async () => {
    if (!redisUp) return;
    const keyPrefix = `test-rl-${randomUUID()}`;
    const [a, b] = await Promise.all([0, 1].map(() => httpRateLimit({ maxRequestsPerSecond: '5', redisHost: 'localhost:6379', keyPrefix }, ctx)));
    try {
      const chains = [new FilterChain([a!]), new FilterChain([b!])];
      const verdicts = await Promise.all(Array.from({ length: 20 }, (_, i) => chains[i % 2]!.request(exchange())));
      expect(verdicts.filter((v) => v === undefined)).toHaveLength(5);
      expect(verdicts.find((v) => v)?.http.status).toBe(429);
    } finally {
      await Promise.all([a!.close!(), b!.close!()]);
    }
  });

  it('flow control rules count in Redis too', async () => {
    if (!redisUp) return;
    const keyPrefix = `test-fc-${randomUUID()}`;
    const cfg = { global_switch: true, rules: [{ resource: '/m', threshold: 3, grade: 1 }], redis: { redisHost: 'localhost:6379', keyPrefix } };
    const [a, b] = await Promise.all([flowControl(cfg, ctx), flowControl(cfg, ctx)]);
    try {
      const verdicts = await Promise.all(Array.from({ length: 10 }, (_, i) => new FilterChain([i % 2 ? a : b]).request(grpcCall('/m'))));
      expect(verdicts.filter((v) => v === undefined)).toHaveLength(3);
    } finally {
      await Promise.all([a.close!(), b.close!()]);
    }
  });

  it('while Redis is unreachable, each limiter counts the same limit locally', async () => {
    if (!redisUp) return;
    const client = await connectShared({ redisHost: 'localhost:6379' }, 'test');
    const limiter = new RedisLimiter(client, { points: 2, windowSec: 1, keyPrefix: `test-down-${randomUUID()}` });
    client.disconnect();
    expect([await limiter.take('k'), await limiter.take('k'), await limiter.take('k')]).toEqual([true, true, false]);
  });

  it('a wrong Redis address fails at startup', async () => {
    await expect(httpRateLimit({ maxRequestsPerSecond: '5', redisHost: '127.0.0.1:1', dialTimeout: '500ms' }, ctx)).rejects.toThrow(/ratelimit: error connecting to redis at 127\.0\.0\.1:1/);
  });
});
