// proxy.ratelimit on the built sidecar's mesh proxy, with real upstreams (a node:http server and a
// grpc-js Echo server): a limit of 100 req/s per client on one route admits 100 ± 5% per second
// under 500 req/s offered (the bound), other routes untouched; refused requests get the
// local reply (429 local_rate_limited; gRPC RESOURCE_EXHAUSTED) and are counted by proxy.metrics
// as RATE_LIMITED local replies; the same limit shared by two sidecars through Redis holds in
// total. Load phases are bounded (about 6 s) and count admissions per window; nothing asserts latency.
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { Pool } from 'undici';
import { echoClient, type EchoApp, metadata, startEchoApp, unary } from '../../test/grpc-echo';
import { requireService } from '../../test/services';
import { offer, offeredRate, perWindow, steadyRate } from '../helpers/load';
import { freePort, type Sidecar, startSidecar } from '../helpers/sidecar';
import { closeServer, type Echo, echoServer } from './upstreams';

/** A MeshProxy resource (JSON is YAML). */
const meshProxy = (spec: unknown) => JSON.stringify({ apiVersion: 'layotto.io/v1', kind: 'MeshProxy', metadata: { name: 'mesh' }, spec });

async function scrape(sc: Sidecar, family: string): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${sc.metricsPort}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) if (line.startsWith(`${family}{`)) out.set(line.slice(family.length, line.lastIndexOf(' ')), Number(line.slice(line.lastIndexOf(' ') + 1)));
  return out;
}

describe('proxy.ratelimit through the mesh proxy', () => {
  let up: Echo;
  let gup: EchoApp;
  let sc: Sidecar;
  let proxyPort: number;
  let pool: Pool;
  let warm = 0;
  beforeAll(async () => {
    [up, gup, proxyPort] = await Promise.all([echoServer('up'), startEchoApp('up'), freePort()]);
    const spec = {
      listeners: [
        {
          name: 'ingress',
          address: `127.0.0.1:${proxyPort}`,
          filters: [
            { type: 'proxy.metrics' },
            {
              type: 'proxy.ratelimit',
              config: {
                rules: [
                  { route: 'limited', key: 'client', rate: 100, per: '1s' },
                  { route: 'tight', key: 'client', rate: 5, per: '1h' },
                  { route: 'echo', key: 'grpc-method', rate: 2, per: '1h' },
                ],
              },
            },
          ],
          routes: [
            { name: 'echo', match: { grpc: { service: 'proxytest.v1.Echo' } }, cluster: 'grpc-up' },
            { name: 'limited', match: { pathPrefix: '/limited' }, cluster: 'up' },
            { name: 'tight', match: { pathPrefix: '/tight' }, cluster: 'up' },
            { name: 'open', match: { pathPrefix: '/' }, cluster: 'up' },
          ],
        },
      ],
      clusters: [
        { name: 'up', endpoints: [`127.0.0.1:${up.port}`] },
        { name: 'grpc-up', endpoints: [`127.0.0.1:${gup.port}`], protocol: 'h2c' },
      ],
    };
    sc = await startSidecar({ resources: { 'proxy.yaml': meshProxy(spec) } });
    pool = new Pool(`http://127.0.0.1:${proxyPort}`, { connections: 16 });
    // A cold sidecar (JIT, connections to the upstream) is slower than the limit for a while: warm it on an open route.
    warm = (await offer([pool], '/open', 500, 2000)).filter((o) => o.status === 200).length;
  }, 40000);
  afterAll(async () => {
    await pool?.close();
    await sc?.stop();
    if (up) await closeServer(up);
    await gup?.close();
  });

  let refused = 0;

  it('admits 100 ± 5% per second on the limited route under 500 req/s offered', async () => {
    const outcomes = await offer([pool], '/limited/x', 500, 6000);
    expect(outcomes.filter((o) => o.status !== 200 && o.status !== 429)).toEqual([]);
    refused += outcomes.filter((o) => o.status === 429).length;
    expect(offeredRate(outcomes)).toBeGreaterThanOrEqual(95);
    expect(steadyRate(outcomes)).toBeLessThanOrEqual(105);
  }, 20000);

  it("answers a refused request with Envoy's local reply; other routes are not limited", async () => {
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push(await pool.request({ method: 'GET', path: '/tight/y' }).then(async (r) => ({ status: r.statusCode, type: r.headers['content-type'], body: await r.body.text() })));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    expect(answers[5]).toEqual({ status: 429, type: 'text/plain; charset=utf-8', body: 'local_rate_limited' });
    const open = await Promise.all(Array.from({ length: 150 }, () => pool.request({ method: 'GET', path: '/open' }).then(async (r) => (await r.body.dump(), r.statusCode))));
    expect(new Set(open)).toEqual(new Set([200]));
  });

  it('refuses gRPC calls past the limit with RESOURCE_EXHAUSTED', async () => {
    const client = echoClient(proxyPort);
    try {
      const calls = [];
      for (let i = 0; i < 4; i++) calls.push(await unary(client, { text: `m${i}` }, metadata([])));
      expect(calls.map((c) => c.err?.code ?? 0)).toEqual([0, 0, grpc.status.RESOURCE_EXHAUSTED, grpc.status.RESOURCE_EXHAUSTED]);
      expect(calls[0]!.res?.text).toBe('up:m0');
      expect(calls[2]!.err?.details).toBe('local_rate_limited');
    } finally {
      client.close();
    }
  });

  it('proxy.metrics counts the refused requests as RATE_LIMITED local replies, by route', async () => {
    const local = await scrape(sc, 'layotto_proxy_local_replies_total');
    expect(local.get('{listener="ingress",route="limited",reason="RATE_LIMITED"}') ?? 0).toBe(refused);
    expect(local.get('{listener="ingress",route="echo",reason="RATE_LIMITED"}')).toBe(2);
    const requests = await scrape(sc, 'layotto_proxy_requests_total');
    expect(requests.get('{listener="ingress",route="limited",cluster="up",status="429"}') ?? 0).toBe(refused);
    expect(local.get('{listener="ingress",route="tight",reason="RATE_LIMITED"}')).toBe(3);
    expect(requests.get('{listener="ingress",route="tight",cluster="up",status="429"}')).toBe(3);
    expect(requests.get('{listener="ingress",route="open",cluster="up",status="200"}')).toBe(150 + warm);
    expect(requests.get(`{listener="ingress",route="echo",cluster="grpc-up",status="${grpc.status.RESOURCE_EXHAUSTED}"}`)).toBe(2);
  });
});

describe('proxy.ratelimit shared by two sidecars through Redis', () => {
  let redisUp = false;
  let up: Echo;
  let sidecars: Sidecar[] = [];
  let pools: Pool[] = [];
  beforeAll(async () => {
    redisUp = await requireService('redis', '127.0.0.1', 6379);
    if (!redisUp) return;
    up = await echoServer('up');
    const keyPrefix = `compat-proxy-rl-${randomUUID()}`;
    const ports = await Promise.all([freePort(), freePort()]);
    sidecars = await Promise.all(
      ports.map((port, i) => {
        const spec = {
          listeners: [
            {
              name: 'ingress',
              address: `127.0.0.1:${port}`,
              filters: [{ type: 'proxy.ratelimit', config: { rules: [{ route: 'all', rate: 100, per: '1s' }], shared: { redisHost: 'localhost:6379', keyPrefix } } }],
              routes: [{ name: 'all', match: { pathPrefix: '/' }, cluster: 'up' }],
            },
          ],
          clusters: [{ name: 'up', endpoints: [`127.0.0.1:${up.port}`] }],
        };
        return startSidecar({ appId: `proxy-rl-${i}`, resources: { 'proxy.yaml': meshProxy(spec) } });
      }),
    );
    pools = ports.map((p) => new Pool(`http://127.0.0.1:${p}`, { connections: 8 }));
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
    await Promise.all(sidecars.map((s) => s.stop()));
    if (up) await closeServer(up);
  });

  it('admits 100 ± 5% per second in total, not twice it', async () => {
    if (!redisUp) return;
    const outcomes = await offer(pools, '/x', 250, 6000);
    expect(outcomes.filter((o) => o.status !== 200 && o.status !== 429)).toEqual([]);
    expect(offeredRate(outcomes)).toBeGreaterThanOrEqual(95);
    // Redis counts in fixed windows of a second: each whole window admits the limit, not more.
    const windows = perWindow(outcomes);
    expect(windows.whole.length).toBeGreaterThanOrEqual(3);
    expect(windows.mean).toBeLessThanOrEqual(105);
  }, 20000);
});
