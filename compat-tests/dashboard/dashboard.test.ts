// The dashboard (--dashboard-port) in a real browser: Debian's chromium through playwright-core
// opens the page of a built sidecar with components (in-memory and real Redis), a declarative
// subscription, a mesh proxy (routes, a cluster, proxy.ratelimit) and middleware.http.ratelimit,
// and each panel is checked against what the sidecar itself reports (/v1.0/metadata, the actuator's
// readiness and /actuator/proxy). Traffic driven at the APIs and the proxy then shows up live
// (counts, rates, latency, rate-limit refusals, recent errors) without reloading the page. Also:
// off by default, on loopback unless --dashboard-address says otherwise. A screenshot of the page
// is kept in test-output/dashboard.png.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Browser, Page } from 'playwright-core';
import { requireService } from '../../test/services';
import { until } from '../../test/wait';
import { closeServer, type Echo, echoServer } from '../mesh/upstreams';
import { componentYaml, freePort, ROOT, type Sidecar, startSidecar } from '../helpers/sidecar';
import { launch, listening, requireChromium, rows } from './browser';

const APP_ID = 'dash-app';
const SCREENSHOT = join(ROOT, 'test-output', 'dashboard.png');

const meshProxy = (spec: unknown) => JSON.stringify({ apiVersion: 'layotto.io/v1', kind: 'MeshProxy', metadata: { name: 'mesh' }, spec });
const subscription = 'apiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata:\n  name: orders\nspec:\n  pubsubname: pubsub\n  topic: orders\n  routes:\n    default: /orders\n  deadLetterTopic: orders-dead\n';

function httpPipeline(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'layotto-ts-dash-')), 'config.yaml');
  writeFileSync(file, 'apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: limits\nspec:\n  httpPipeline:\n    handlers:\n    - name: ratelimit\n      type: middleware.http.ratelimit\n');
  return file;
}

const json = async <T>(url: string): Promise<T> => (await fetch(url)).json() as Promise<T>;
const get = (url: string) => fetch(url).then(async (r) => (await r.arrayBuffer(), r.status));
/** A unary call with an empty request message (protobuf's empty encoding), answered with its status code. */
function grpcCall(port: number, method: string): Promise<number> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(method, () => Buffer.alloc(0), (b: Buffer) => b, {}, (err) => {
      client.close();
      resolve(err ? (err.code ?? grpc.status.UNKNOWN) : grpc.status.OK);
    });
  });
}

const row = (table: string[][], ...cells: string[]) => table.find((r) => cells.every((c, i) => c === undefined || r[i] === c));

describe('dashboard in chromium', () => {
  // Redis and chromium are required in CI; elsewhere, without them, the tests below pass as skipped (a loud line says so).
  let ready = false;
  const check = (name: string, fn: () => Promise<void> | void) => it(name, async () => (ready ? fn() : undefined));
  let sc: Sidecar;
  let up: Echo;
  let browser: Browser;
  let page: Page;
  let dash: string;
  let actuator: string;
  let proxyPort: number;
  let dashPort: number;

  beforeAll(async () => {
    ready = (await requireService('redis', '127.0.0.1', 6379)) && requireChromium();
    if (!ready) return;
    let actuatorPort: number;
    let closed: number;
    [up, proxyPort, dashPort, actuatorPort, closed] = await Promise.all([echoServer('up'), freePort(), freePort(), freePort(), freePort()]);
    const spec = {
      listeners: [
        {
          name: 'ingress',
          address: `127.0.0.1:${proxyPort}`,
          filters: [{ type: 'proxy.ratelimit', config: { rules: [{ route: 'tight', rate: 2, per: '1h' }] } }],
          routes: [
            { name: 'tight', match: { pathPrefix: '/tight' }, cluster: 'up' },
            { name: 'dead', match: { pathPrefix: '/dead' }, cluster: 'gone' },
            { name: 'open', match: { pathPrefix: '/' }, cluster: 'up' },
          ],
        },
      ],
      clusters: [
        { name: 'up', endpoints: [`127.0.0.1:${up.port}`] },
        { name: 'gone', endpoints: [`127.0.0.1:${closed}`] }, // nothing listens there
      ],
    };
    sc = await startSidecar({
      appId: APP_ID,
      resources: {
        'redis.yaml': componentYaml('redisstore', 'state.redis', { redisHost: '127.0.0.1:6379' }),
        'mem.yaml': componentYaml('mem', 'state.in-memory'),
        'pubsub.yaml': componentYaml('pubsub', 'pubsub.in-memory'),
        'ratelimit.yaml': componentYaml('ratelimit', 'middleware.http.ratelimit', { maxRequestsPerSecond: '20' }),
        'subscription.yaml': subscription,
        'proxy.yaml': meshProxy(spec),
      },
      args: ['--config', httpPipeline(), '--dashboard-port', String(dashPort), '--actuator-port', String(actuatorPort)],
    });
    dash = `http://127.0.0.1:${dashPort}`;
    actuator = `http://127.0.0.1:${actuatorPort}`;
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    await page.goto(`${dash}/`);
    await page.locator('[data-testid="status"]', { hasText: 'live' }).waitFor({ timeout: 15000 });
  }, 60000);

  afterAll(async () => {
    await browser?.close();
    await sc?.stop();
    if (up) await closeServer(up);
  });

  check('shows the app id and runtime version /v1.0/metadata reports', async () => {
    const md = await json<{ id: string; runtimeVersion: string }>(`http://127.0.0.1:${sc.httpPort}/v1.0/metadata`);
    expect(await page.textContent('[data-testid="app-id"]')).toBe(md.id);
    expect(md.id).toBe(APP_ID);
    expect(await page.textContent('[data-testid="runtime-version"]')).toBe(`layotto-ts ${md.runtimeVersion}`);
  });

  check('lists every component with its type, version, capabilities and the health the actuator reports', async () => {
    const md = await json<{ components: { name: string; type: string; version: string; capabilities?: string[] }[] }>(`http://127.0.0.1:${sc.httpPort}/v1.0/metadata`);
    const readiness = await json<{ components: Record<string, { status: string }> }>(`${actuator}/actuator/health/readiness`);
    expect(readiness.components['state-redisstore']?.status).toBe('UP');
    await until(async () => (await rows(page, 'panel-components')).length === md.components.length, () => 'component rows');
    const table = await rows(page, 'panel-components');
    for (const c of md.components) {
      const r = row(table, undefined as unknown as string, c.name, c.type, c.version);
      expect(r).toBeDefined();
      expect(r![5]).toBe((c.capabilities ?? []).join(', ')); // metadata leaves out an empty list
      const kind = r![0]!;
      expect(r![4]).toBe(readiness.components[`${kind}-${c.name}`]?.status ?? 'n/a');
    }
    expect(row(table, 'state', 'redisstore', 'state.redis')?.[4]).toBe('UP');
  });

  check('lists the subscriptions /v1.0/metadata reports', async () => {
    const md = await json<{ subscriptions: { pubsubname: string; topic: string; deadLetterTopic?: string; type: string }[] }>(`http://127.0.0.1:${sc.httpPort}/v1.0/metadata`);
    expect(md.subscriptions.length).toBe(1);
    const table = await rows(page, 'panel-subscriptions');
    expect(table).toEqual(md.subscriptions.map((s) => [s.pubsubname, s.topic, '/orders', s.deadLetterTopic, s.type]));
  });

  check('shows the proxy listeners, routes and clusters /actuator/proxy reports', async () => {
    const proxy = await json<{ listeners: { name: string; address: string; routes: { name: string; cluster: string }[]; filters: string[] }[]; clusters: { name: string; endpoints: { address: string }[] }[] }>(`${actuator}/actuator/proxy`);
    const routes = await rows(page, 'panel-proxy-routes');
    const expected = proxy.listeners.flatMap((l) => l.routes.map((r) => [l.name, l.address, r.name, r.cluster, l.filters.join(', ')]));
    expect(routes.map((r) => r.slice(0, 5))).toEqual(expected);
    expect(expected.map((r) => r[2])).toEqual(['tight', 'dead', 'open']);
    const clusters = await rows(page, 'panel-proxy-clusters');
    expect(clusters.map((c) => c[0])).toEqual(proxy.clusters.map((c) => c.name));
    expect(clusters[0]![1]).toContain(proxy.clusters[0]!.endpoints[0]!.address);
  });

  check('updates request counts, rates and latency per API and route live', async () => {
    const before = await rows(page, 'panel-traffic');
    const stateRoute = '/v1.0/state/:storeName/:key';
    const metadataRpc = '/dapr.proto.runtime.v1.Dapr/GetMetadata';
    const count = (t: string[][], api: string, route: string) => Number(row(t, api, route)?.[2] ?? 0);
    const start = { state: count(before, 'dapr-http', stateRoute), proxy: count(before, 'proxy', 'open'), grpc: count(before, 'dapr-grpc', metadataRpc) };
    for (let i = 0; i < 3; i++) expect(await grpcCall(sc.grpcPort, metadataRpc)).toBe(grpc.status.OK);
    await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/state/redisstore`, { method: 'POST', body: JSON.stringify([{ key: 'k', value: 'v' }]), headers: { 'content-type': 'application/json' } });
    for (let i = 0; i < 10; i++) {
      expect(await get(`http://127.0.0.1:${sc.httpPort}/v1.0/state/redisstore/k`)).toBe(200);
      expect(await get(`http://127.0.0.1:${proxyPort}/open/${i}`)).toBe(200);
    }
    // No reload: the stream brings the new numbers.
    await until(async () => {
      const t = await rows(page, 'panel-traffic');
      return count(t, 'dapr-http', stateRoute) >= start.state + 10 && count(t, 'proxy', 'open') >= start.proxy + 10 && count(t, 'dapr-grpc', metadataRpc) >= start.grpc + 3;
    }, () => 'traffic rows to count the requests');
    const t = await rows(page, 'panel-traffic');
    const snapshot = await json<{ routes: { api: string; route: string; count: number }[] }>(`${dash}/api/snapshot`);
    for (const [api, route] of [['dapr-http', stateRoute], ['proxy', 'open'], ['dapr-grpc', metadataRpc]] as const) {
      const r = row(t, api, route)!;
      expect(Number(r[3])).toBeGreaterThan(0); // rate /s
      expect(Number(r[4])).toBeGreaterThan(0); // p50 ms
      expect(Number(r[5])).toBeGreaterThanOrEqual(Number(r[4])); // p99 ≥ p50
      expect(Number(r[2])).toBeLessThanOrEqual(snapshot.routes.find((x) => x.api === api && x.route === route)!.count);
    }
  });

  check('counts rate-limit refusals of the API middleware and of the proxy live', async () => {
    const statuses = await Promise.all(Array.from({ length: 120 }, () => get(`http://127.0.0.1:${sc.httpPort}/v1.0/state/mem/burst`)));
    const refusedApi = statuses.filter((s) => s === 429).length;
    expect(refusedApi).toBeGreaterThan(0);
    const proxied = [];
    for (let i = 0; i < 5; i++) proxied.push(await get(`http://127.0.0.1:${proxyPort}/tight`));
    expect(proxied.filter((s) => s === 429).length).toBe(3);
    let t: string[][] = [];
    await until(async () => {
      t = await rows(page, 'panel-rejections');
      return row(t, 'dapr-http', '/v1.0/state/:storeName/:key', 'middleware.http.ratelimit')?.[3] === String(refusedApi) && row(t, 'proxy', 'tight', 'proxy.ratelimit')?.[3] === '3';
    }, () => `rejection rows ${JSON.stringify(t)} to show ${refusedApi} API and 3 proxy refusals`);
  });

  check('lists recent error answers with their code and message live', async () => {
    const r = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/state/nosuchstore/k`);
    const body = (await r.json()) as { errorCode: string; message: string };
    await until(async () => (await rows(page, 'panel-errors')).some((e) => e[4] === body.errorCode), () => 'the error row');
    const e = (await rows(page, 'panel-errors')).find((x) => x[4] === body.errorCode)!;
    expect(e.slice(1)).toEqual(['dapr-http', '/v1.0/state/:storeName/:key', String(r.status), body.errorCode, body.message]);
    // A gRPC error answer: its status code's name and details.
    const layottoRpc = '/spec.proto.runtime.v1.Runtime/GetState';
    const code = await grpcCall(sc.layottoPort, layottoRpc);
    expect(code).not.toBe(grpc.status.OK);
    let g: string[] | undefined;
    await until(async () => (g = (await rows(page, 'panel-errors')).find((x) => x[1] === 'layotto-grpc')) !== undefined, () => 'a layotto-grpc error row');
    expect(g!.slice(2, 4)).toEqual([layottoRpc, grpc.status[code]!.split('_').map((w) => w[0] + w.slice(1).toLowerCase()).join('')]);
    expect(g![5]).not.toBe('');
    // A proxy's failed upstream too, with the proxy's reason; refusals are counted in their own panel, not here.
    const dead = await get(`http://127.0.0.1:${proxyPort}/dead`);
    expect(dead).toBeGreaterThanOrEqual(500);
    let t: string[][] = [];
    await until(async () => (t = await rows(page, 'panel-errors')).some((x) => x[1] === 'proxy' && x[2] === 'dead'), () => `a proxy error row in ${JSON.stringify(t)}`);
    const newest = t[0]!;
    expect(newest.slice(1, 4)).toEqual(['proxy', 'dead', String(dead)]);
    expect(newest[4]).toMatch(/^UPSTREAM_|NO_HEALTHY_UPSTREAM/);
    expect(t.filter((x) => x[3] === '429')).toEqual([]);
  });

  check('listens on loopback only by default', () => {
    expect(listening(sc.proc.pid!)).toContain(`127.0.0.1:${dashPort}`);
  });

  check('keeps a screenshot of the page', async () => {
    mkdirSync(join(ROOT, 'test-output'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    process.stdout.write(`dashboard screenshot: ${SCREENSHOT}\n`);
  });
});

describe('dashboard flags', () => {
  it('is off by default: no listener of the sidecar serves it', async () => {
    const sc = await startSidecar({ appId: 'no-dash' });
    try {
      const addresses = listening(sc.proc.pid!);
      expect(addresses.length).toBeGreaterThan(0);
      for (const a of addresses) {
        const port = a.slice(a.lastIndexOf(':') + 1);
        const r = await fetch(`http://127.0.0.1:${port}/api/snapshot`).catch(() => undefined);
        expect(r?.headers.get('content-type') === 'application/json' && (await r.text()).includes('"routes"')).toBe(false);
      }
      expect(sc.output()).not.toContain('Dashboard is running');
    } finally {
      await sc.stop();
    }
  });

  it('listens where --dashboard-address says', async () => {
    const port = await freePort();
    const sc = await startSidecar({ appId: 'dash-address', args: ['--dashboard-port', String(port), '--dashboard-address', '127.0.0.2'] });
    try {
      expect(listening(sc.proc.pid!)).toContain(`127.0.0.2:${port}`);
      const snapshot = await json<{ appId: string }>(`http://127.0.0.2:${port}/api/snapshot`);
      expect(snapshot.appId).toBe('dash-address');
      await expect(fetch(`http://127.0.0.1:${port}/api/snapshot`)).rejects.toThrow();
    } finally {
      await sc.stop();
    }
  });
});
