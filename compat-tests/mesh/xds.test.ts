// The built sidecar as an xDS data plane (issue 12): a control plane inside the test (grpc-js ADS,
// the Envoy protos of @grpc/grpc-js-xds) pushes a listener, routes, clusters and endpoints; traffic
// through the sidecar follows them beside a file-declared MeshProxy listener; a pushed update (new
// weights, an endpoint removed) takes effect while requests in flight finish; a broken resource is
// NACKed with its reason while the old config serves; the local rate limit filter applies; the
// control plane going away leaves the config serving and the client reconnecting. Status in
// /v1.0/metadata (extended `xds`) and GET /actuator/xds.
import { freePort, type Sidecar, startSidecar } from '../helpers/sidecar';
import { AdsServer, envoy, TYPE } from '../../test/xds-server';
import { sleep, until } from '../../test/wait';
import { closeServer, type Echo, echoServer, http1 } from './upstreams';

let sc: Sidecar;
let ads: AdsServer;
let a: Echo;
let b: Echo;
let c: Echo;
let edge: number;
let files: number;
let actuatorPort: number;

const fileProxy = (listen: number, upstream: number) => `apiVersion: layotto.io/v1
kind: MeshProxy
metadata:
  name: files
spec:
  listeners:
    - name: from-file
      address: 127.0.0.1:${listen}
      cluster: file-cluster
  clusters:
    - name: file-cluster
      endpoints: ["127.0.0.1:${upstream}"]
`;

interface Status {
  state: string;
  streams: number;
  node: { id: string };
  types: Record<'lds' | 'rds' | 'cds' | 'eds', { version: string; nonce: string; names: string[]; acks: number; nacks: number }>;
  lastNack?: { type: string; version: string; message: string };
  warnings: string[];
}

async function actuatorXds(): Promise<Status> {
  const r = await http1(actuatorPort, '/actuator/xds');
  expect(r.status).toBe(200);
  return JSON.parse(r.text) as Status;
}

async function metadataXds(): Promise<Status> {
  const r = await http1(sc.httpPort, '/v1.0/metadata');
  return JSON.parse(JSON.parse(r.text).extended.xds) as Status;
}

const until2 = (cond: (s: Status) => boolean, ms = 15_000) => {
  let last: Status | undefined;
  return until(async () => cond((last = await actuatorXds())), () => JSON.stringify(last), ms);
};

/** Which upstream answered each of n requests to the xDS listener. */
async function spread(n: number, path = '/'): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await http1(edge, path);
    const who = r.status === 200 ? (JSON.parse(r.text) as { name: string }).name : String(r.status);
    seen[who] = (seen[who] ?? 0) + 1;
  }
  return seen;
}

const clusters = () => [envoy.edsCluster('svc-a'), envoy.edsCluster('svc-b', { lb_policy: 'LEAST_REQUEST', circuit_breakers: { thresholds: [{ max_requests: { value: 100 } }] }, outlier_detection: { consecutive_5xx: { value: 3 } } })];
const routes = (weights: Record<string, number>) => [
  envoy.routes('main', [
    { match: { prefix: '/', headers: [{ name: 'x-canary', string_match: { exact: 'yes' } }] }, route: { cluster: 'svc-b' } },
    envoy.route('/a/', { cluster: 'svc-a', prefix_rewrite: '/' }),
    envoy.route('/', { ...envoy.weighted(weights), timeout: envoy.seconds(5000), retry_policy: { retry_on: 'connect-failure,5xx', num_retries: { value: 2 } } }),
  ]),
];

beforeAll(async () => {
  [a, b, c] = await Promise.all([echoServer('a'), echoServer('b'), echoServer('c')]);
  [edge, files, actuatorPort] = await Promise.all([freePort(), freePort(), freePort()]);
  ads = new AdsServer();
  await ads.start();
  ads.set(TYPE.cluster, 'c1', clusters());
  ads.set(TYPE.endpoint, 'e1', [envoy.cla('svc-a', [{ port: a.port }]), envoy.cla('svc-b', [{ port: b.port }, { port: c.port }])]);
  ads.set(TYPE.listener, 'l1', [envoy.listener('xds-edge', edge, { rds: 'main' })]);
  ads.set(TYPE.route, 'r1', routes({ 'svc-a': 50, 'svc-b': 50 }));
  sc = await startSidecar({
    appId: 'xds-app',
    resources: { 'proxy.yaml': fileProxy(files, c.port) },
    args: ['--actuator-port', String(actuatorPort), '--xds-server', `127.0.0.1:${ads.port}`, '--xds-node-id', 'sidecar~127.0.0.1~xds-app.default', '--xds-node-cluster', 'xds-app', '--xds-node-metadata', 'ISTIO_VERSION=1.22,NAMESPACE=default'],
  });
  await until2((s) => s.types.rds.version === 'r1' && s.types.eds.version === 'e1');
}, 60_000);

afterAll(async () => {
  await sc?.stop();
  await ads?.stop();
  await Promise.all([a, b, c].filter(Boolean).map(closeServer));
});

describe('xDS data plane', () => {
  it('serves the pushed listener, routes, clusters and endpoints beside the file-declared proxy, as the node it said it is', async () => {
    const first = ads.requests.find((r) => r.node)!;
    expect(first.node).toMatchObject({ id: 'sidecar~127.0.0.1~xds-app.default', cluster: 'xds-app', metadata: { fields: { ISTIO_VERSION: { stringValue: '1.22' }, NAMESPACE: { stringValue: 'default' } } } });
    const even = await spread(120);
    expect(even.a).toBeGreaterThan(30);
    expect((even.b ?? 0) + (even.c ?? 0)).toBeGreaterThan(30);
    expect(JSON.parse((await http1(edge, '/a/x')).text)).toMatchObject({ name: 'a', url: '/x' });
    const canary = await http1(edge, '/any', { headers: { 'x-canary': 'yes' } });
    expect(['b', 'c']).toContain(JSON.parse(canary.text).name);
    expect(JSON.parse((await http1(files, '/f')).text).name).toBe('c');

    const st = await metadataXds();
    expect(st).toMatchObject({ state: 'connected', node: { id: 'sidecar~127.0.0.1~xds-app.default' }, types: { lds: { version: 'l1' }, rds: { version: 'r1', names: ['main'] }, cds: { version: 'c1' }, eds: { version: 'e1', names: ['svc-a', 'svc-b'] } } });
    expect(st.types.eds.nonce).not.toBe('');
    expect(ads.of(TYPE.route).at(-1)).toMatchObject({ version_info: 'r1', response_nonce: st.types.rds.nonce, error_detail: null });
    const proxy = JSON.parse((await http1(sc.httpPort, '/v1.0/metadata')).text).meshProxy;
    expect(proxy.listeners.map((l: { name: string }) => l.name).sort()).toEqual(['from-file', 'xds-edge']);
    expect(proxy.clusters.find((x: { name: string }) => x.name === 'svc-b')).toMatchObject({ lbPolicy: 'least_request', endpoints: [{ address: `127.0.0.1:${b.port}` }, { address: `127.0.0.1:${c.port}` }] });
  });

  it('takes a pushed update (new weights, an endpoint removed) while requests in flight finish', async () => {
    const slow = [0, 1, 2, 3, 4, 5].map(() => http1(edge, '/slow/1500'));
    await sleep(300);
    ads.set(TYPE.route, 'r2', routes({ 'svc-a': 0, 'svc-b': 100 }));
    ads.set(TYPE.endpoint, 'e2', [envoy.cla('svc-a', [{ port: a.port }]), envoy.cla('svc-b', [{ port: b.port }])]);
    await until2((s) => s.types.rds.version === 'r2' && s.types.eds.version === 'e2');
    expect(await spread(30)).toEqual({ b: 30 });
    const done = await Promise.all(slow);
    expect(done.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(new Set(done.map((r) => JSON.parse(r.text).name)).size).toBeGreaterThan(1); // started on the old weights and endpoints
  });

  it('NACKs a broken resource with its reason and keeps the old config serving', async () => {
    ads.set(TYPE.cluster, 'c-broken', [envoy.edsCluster('svc-a', { lb_policy: 'MAGLEV' }), clusters()[1]!]);
    await until2((s) => s.lastNack?.version === 'c-broken');
    const st = await actuatorXds();
    expect(st.lastNack).toMatchObject({ type: 'cds', message: expect.stringMatching(/cluster svc-a: lb_policy MAGLEV is not supported/) });
    expect(st.types.cds.version).toBe('c1');
    expect(ads.of(TYPE.cluster).at(-1)).toMatchObject({ version_info: 'c1', error_detail: { code: 3, message: expect.stringMatching(/MAGLEV/) } });
    expect(JSON.parse((await http1(edge, '/a/x')).text).name).toBe('a');
    ads.set(TYPE.route, 'r-broken', [envoy.routes('main', [{ match: { safe_regex: { regex: '(' } }, route: { cluster: 'svc-a' } }])]);
    await until2((s) => s.lastNack?.version === 'r-broken');
    expect((await metadataXds()).lastNack!.message).toMatch(/routes\.0\.match|pathRegex|Invalid regular expression/i);
    expect(await spread(5)).toEqual({ b: 5 });
    expect(sc.output()).toMatch(/xds: cds version c-broken rejected, version c1 keeps serving/);
  });

  it('applies envoy.filters.http.local_ratelimit from the pushed listener', async () => {
    const limited = envoy.listener('xds-edge', edge, {
      rds: 'main',
      httpFilters: [
        {
          name: 'envoy.filters.http.local_ratelimit',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
            stat_prefix: 'rl',
            token_bucket: { max_tokens: 5, tokens_per_fill: { value: 1 }, fill_interval: envoy.seconds(60_000) },
            filter_enabled: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
            filter_enforced: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
          },
        },
      ],
    });
    ads.set(TYPE.listener, 'l2', [limited]);
    await until2((s) => s.types.lds.version === 'l2');
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await http1(edge, '/')).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    ads.set(TYPE.listener, 'l3', [envoy.listener('xds-edge', edge, { rds: 'main' })]);
    await until2((s) => s.types.lds.version === 'l3');
    expect((await http1(edge, '/')).status).toBe(200);
  });

  it('keeps the last config serving while the control plane is away, reconnects and resumes', async () => {
    const streams = (await actuatorXds()).streams;
    await ads.stop();
    await until2((s) => s.state !== 'connected');
    expect(await spread(5)).toEqual({ b: 5 });
    await sleep(1500);
    ads.set(TYPE.endpoint, 'e3', [envoy.cla('svc-a', [{ port: a.port }]), envoy.cla('svc-b', [{ port: c.port }])]);
    const before = ads.requests.length;
    await ads.start();
    await until2((s) => s.state === 'connected' && s.types.eds.version === 'e3', 40_000);
    expect((await actuatorXds()).streams).toBeGreaterThan(streams);
    expect(ads.requests.slice(before).find((r) => r.type_url === TYPE.endpoint && r.response_nonce === '')).toMatchObject({ version_info: 'e2' });
    expect(await spread(5)).toEqual({ c: 5 });
  }, 60_000);
});
