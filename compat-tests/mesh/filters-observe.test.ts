// proxy.tracing, proxy.accesslog, proxy.faultinject and proxy.metrics on the built sidecar's mesh
// proxy, with a real node:http upstream that records what reached it: the upstream's traceparent
// is the proxy's span (child of the caller's), exported by the Configuration's tracer; one access
// log line per request in the file; aborts at the configured percentage over a thousand
// requests, answered locally and never reaching the upstream; a delay holds the request; the
// metrics families count requests, bytes, upstream statuses and the aborts.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { until } from '../../test/wait';
import { freePort, type Sidecar, startSidecar } from '../helpers/sidecar';

const meshProxy = (spec: unknown) => JSON.stringify({ apiVersion: 'layotto.io/v1', kind: 'MeshProxy', metadata: { name: 'mesh' }, spec });

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const TP = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
}

describe('observing and faulting filters through the mesh proxy', () => {
  const seen: Seen[] = [];
  let upstream: Server;
  let upPort: number;
  let sc: Sidecar;
  let proxyPort: number;
  let pool: Pool;
  const dir = mkdtempSync(join(tmpdir(), 'proxy-filters-'));
  const accessLog = join(dir, 'access.log');
  const lines = () => readFileSync(accessLog, 'utf8').split('\n').filter(Boolean);

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      seen.push({ path: req.url!, headers: req.headers });
      req.resume();
      req.on('end', () => res.writeHead(req.url === '/fail' ? 503 : 200, { 'content-type': 'text/plain' }).end('hello from upstream'));
    });
    upPort = await new Promise<number>((r) => upstream.listen(0, '127.0.0.1', () => r((upstream.address() as { port: number }).port)));
    proxyPort = await freePort();
    const config = join(dir, 'config.yaml');
    writeFileSync(config, 'apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: tracing\nspec:\n  tracing:\n    samplingRate: "1"\n    stdout: true\n');
    const spec = {
      listeners: [
        {
          name: 'edge',
          address: `127.0.0.1:${proxyPort}`,
          filters: [
            { type: 'proxy.tracing' },
            { type: 'proxy.metrics' },
            { type: 'proxy.accesslog', config: { path: accessLog, format: 'json' } },
            { type: 'proxy.faultinject', config: { abort: { percentage: 25, httpStatus: 503 }, routes: ['faulty'] } },
            { type: 'proxy.faultinject', config: { delay: { percentage: 100, fixedDelay: '300ms' }, headers: [{ name: 'x-delay', exact: 'yes' }] } },
          ],
          routes: [
            { name: 'faulty', match: { pathPrefix: '/faulty' }, cluster: 'up' },
            { name: 'main', match: { pathPrefix: '/' }, cluster: 'up' },
          ],
        },
      ],
      clusters: [{ name: 'up', endpoints: [`127.0.0.1:${upPort}`] }],
    };
    sc = await startSidecar({ resources: { 'proxy.yaml': meshProxy(spec) }, args: ['--config', config] });
    pool = new Pool(`http://127.0.0.1:${proxyPort}`, { connections: 16 });
  });
  afterAll(async () => {
    await pool?.close();
    await sc?.stop();
    upstream?.close();
  });
  beforeEach(() => void (seen.length = 0));

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const r = await pool.request({ method: 'GET', path, headers });
    return { status: r.statusCode, body: await r.body.text() };
  };

  it("the upstream's parent is the proxy's SERVER span, a child of the caller's; the span is exported", async () => {
    expect(await get('/traced', { traceparent: `00-${TRACE}-${CALLER_SPAN}-01`, 'x-request-id': 'rid-1' })).toEqual({ status: 200, body: 'hello from upstream' });
    const m = TP.exec(String(seen[0]!.headers.traceparent));
    expect(m?.[1]).toBe(TRACE);
    const proxySpan = m![2]!;
    expect(proxySpan).not.toBe(CALLER_SPAN);
    await until(() => sc.output().includes(`[GET main] Trace: ${TRACE} Span: ${CALLER_SPAN}/${proxySpan}`), () => `the proxy span in the output:\n${sc.output().slice(-2000)}`);
  });

  it('writes one access log line per request with route, cluster, upstream and status', async () => {
    const before = lines().length;
    for (let i = 0; i < 20; i++) await get(`/items/${i}`, { 'x-request-id': `req-${i}` });
    await until(() => lines().length >= before + 20, () => `20 more lines in ${accessLog}`);
    const last = lines().slice(before).map((l) => JSON.parse(l));
    expect(last).toHaveLength(20);
    expect(last[19]).toMatchObject({ method: 'GET', path: '/items/19', response_code: 200, upstream_status: 200, route_name: 'main', upstream_cluster: 'up', upstream_host: `127.0.0.1:${upPort}`, listener: 'edge', x_request_id: 'req-19', bytes_sent: 19 });
  });

  let aborted = 0;

  it('aborts 25% of the faulty route over 1000 requests, locally, with the abort flagged in the log', async () => {
    const n = 1000;
    const before = lines().length;
    const answers = await Promise.all(Array.from({ length: n }, () => get('/faulty')));
    aborted = answers.filter((a) => a.status === 503).length;
    // within 4.5 standard deviations of 250
    expect(Math.abs(aborted - n * 0.25)).toBeLessThanOrEqual(4.5 * Math.sqrt(n * 0.25 * 0.75));
    expect(answers.find((a) => a.status === 503)?.body).toBe('fault filter abort');
    expect(seen).toHaveLength(n - aborted);
    await until(() => lines().length >= before + n, () => `${n} more lines in ${accessLog}`);
    const flagged = lines().slice(before).map((l) => JSON.parse(l)).filter((r) => r.response_flags === 'FI');
    expect(flagged).toHaveLength(aborted);
    expect(flagged[0]).toMatchObject({ error_code: 'FAULT_ABORT', route_name: 'faulty' });
  }, 60000);

  it('delays requests with the header, then forwards them', async () => {
    const t0 = performance.now();
    expect((await get('/slow', { 'x-delay': 'yes' })).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(seen.map((s) => s.path)).toEqual(['/slow']);
    await until(() => lines().some((l) => l.includes('"path":"/slow"')), () => 'the delayed request logged');
    expect(JSON.parse(lines().find((l) => l.includes('"path":"/slow"'))!).response_flags).toBe('DI');
  });

  it('counts requests, upstream statuses, bytes and the aborts in the metrics families', async () => {
    await get('/fail');
    const body = 'x'.repeat(1000);
    await (await pool.request({ method: 'POST', path: '/upload', body })).body.dump();
    const text = await (await fetch(`http://127.0.0.1:${sc.metricsPort}/metrics`)).text();
    const value = (series: string) => Number(text.split('\n').find((l) => l.startsWith(series + ' '))?.split(' ')[1]);
    expect(value('layotto_proxy_local_replies_total{listener="edge",route="faulty",reason="FAULT_ABORT"}')).toBe(aborted);
    expect(value('layotto_proxy_requests_total{listener="edge",route="faulty",cluster="up",status="503"}')).toBe(aborted);
    expect(value(`layotto_proxy_upstream_requests_total{cluster="up",upstream="127.0.0.1:${upPort}",status="503"}`)).toBe(1);
    expect(value('layotto_proxy_requests_total{listener="edge",route="main",cluster="up",status="503"}')).toBe(1);
    expect(value('layotto_proxy_request_bytes_total{listener="edge",route="main",cluster="up"}')).toBeGreaterThanOrEqual(1000);
    expect(value('layotto_proxy_response_bytes_total{listener="edge",route="main",cluster="up"}')).toBeGreaterThan(0);
    expect(value('layotto_proxy_request_duration_ms_count{listener="edge",route="main",cluster="up"}')).toBeGreaterThanOrEqual(24);
  });
});
