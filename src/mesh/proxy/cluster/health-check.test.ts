// Active health checks against node:http and TCP servers the test starts and stops: the first
// verdict comes at once, thresholds flip an endpoint down and up, pick() skips it meanwhile, every
// endpoint down answers "no healthy upstream", and close() stops the checks.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { until } from '../../../../test/wait';
import { endpoints, script, testCluster } from './fake';
import { type Cluster, NoHealthyUpstreamError } from './types';

interface Upstream {
  port: number;
  status: number;
  hits: { path: string; host: string; agent: string }[];
  close(): Promise<void>;
}

async function upstream(): Promise<Upstream> {
  const u = { status: 200, hits: [] } as unknown as Upstream;
  const server = http.createServer((req, res) => {
    u.hits.push({ path: req.url!, host: req.headers.host!, agent: req.headers['user-agent']! });
    res.statusCode = u.status;
    res.end('fine');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  u.port = (server.address() as AddressInfo).port;
  u.close = () =>
    new Promise((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return u;
}

const freePort = async (): Promise<number> => {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
};

let open: Cluster[] = [];
let servers: { close(): Promise<void> }[] = [];
const cluster = (c: Record<string, unknown>): Cluster => {
  const cl = testCluster(c);
  open.push(cl);
  return cl;
};
afterEach(async () => {
  open.forEach((c) => c.close());
  open = [];
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

const health = (c: Cluster): string[] => c.snapshot().endpoints.map((e) => e.health);
const waitHealth = (c: Cluster, want: string[]) => until(() => health(c).join() === want.join(), () => `health ${health(c)}, want ${want}`, 5000);

it('the first check answers at once: healthy, or unhealthy for a refused port, and pick skips the unhealthy one', async () => {
  const up = await upstream();
  servers.push(up);
  const down = await freePort();
  // An hour between checks: only the first check can give these verdicts.
  const c = cluster({ endpoints: endpoints(up.port, down), healthCheck: { path: '/ready', interval: '1h', unhealthyThreshold: 3, healthyThreshold: 3 } });
  expect(health(c)).toEqual(['unchecked', 'unchecked']);
  await waitHealth(c, ['healthy', 'unhealthy']);
  expect(up.hits).toEqual([{ path: '/ready', host: 'c', agent: 'layotto-ts-health-check' }]);
  const s = script({});
  for (let i = 0; i < 6; i++) await c.call(s.attempt, { timeoutMs: 0, replayable: true });
  expect(s.calls).toEqual(Array(6).fill(up.port));
});

it('flips an endpoint down after unhealthyThreshold failures and up after healthyThreshold successes', async () => {
  const a = await upstream();
  const b = await upstream();
  servers.push(a, b);
  const c = cluster({ endpoints: endpoints(a.port, b.port), healthCheck: { interval: 50, unhealthyThreshold: 2, healthyThreshold: 2 } });
  await waitHealth(c, ['healthy', 'healthy']);

  a.status = 503;
  const before = a.hits.length;
  await waitHealth(c, ['unhealthy', 'healthy']);
  expect(a.hits.length - before).toBeGreaterThanOrEqual(2);
  const s = script({});
  for (let i = 0; i < 4; i++) await c.call(s.attempt, { timeoutMs: 0, replayable: true });
  expect(s.calls).toEqual(Array(4).fill(b.port));

  a.status = 204;
  await waitHealth(c, ['healthy', 'healthy']);
});

it('expectedStatuses replaces 200-399; a check that does not answer in time fails', async () => {
  const a = await upstream();
  servers.push(a);
  const silent = net.createServer((s) => s.resume()); // reads, never answers
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  servers.push({ close: () => new Promise((r) => silent.close(() => r())) });
  const silentPort = (silent.address() as AddressInfo).port;
  const c = cluster({ endpoints: endpoints(a.port, silentPort), healthCheck: { interval: '1h', timeout: 100, expectedStatuses: [204] } });
  await waitHealth(c, ['unhealthy', 'unhealthy']);
});

it('every endpoint down: the snapshot says so and calls answer NoHealthyUpstreamError', async () => {
  const a = await upstream();
  const c = cluster({ endpoints: endpoints(a.port), healthCheck: { interval: 50, unhealthyThreshold: 1 } });
  await waitHealth(c, ['healthy']);
  await a.close();
  await waitHealth(c, ['unhealthy']);
  expect(c.snapshot().noHealthyEndpoints).toBe(true);
  await expect(c.call(script({}).attempt, { timeoutMs: 0, replayable: true })).rejects.toBeInstanceOf(NoHealthyUpstreamError);
  expect(c.snapshot().stats.noHealthy).toBe(1);
});

it('tcp checks connect only', async () => {
  const tcp = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  const port = (tcp.address() as AddressInfo).port;
  const c = cluster({ endpoints: endpoints(port), healthCheck: { protocol: 'tcp', interval: 50, unhealthyThreshold: 1 } });
  await waitHealth(c, ['healthy']);
  await new Promise((r) => tcp.close(r));
  await waitHealth(c, ['unhealthy']);
  const again = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => again.listen(port, '127.0.0.1', r));
  servers.push({ close: () => new Promise((r) => again.close(() => r())) });
  await waitHealth(c, ['healthy']);
});

it('close() stops the checks', async () => {
  const a = await upstream();
  servers.push(a);
  const c = cluster({ endpoints: endpoints(a.port), healthCheck: { interval: 20 } });
  await until(() => a.hits.length >= 2, () => `${a.hits.length} checks`, 5000);
  c.close();
  const seen = a.hits.length;
  await new Promise((r) => setTimeout(r, 150));
  // At most the one already on the wire when close() ran.
  expect(a.hits.length - seen).toBeLessThanOrEqual(1);
});
