// Outlier detection through call(): consecutive 5xx, gateway errors and connect failures (against a
// refused port, with a real HTTP attempt) eject an endpoint for its time, growing with each
// ejection; maxEjectionPercent and the last available endpoint bound what is ejected.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { until } from '../../../../test/wait';
import { endpoints, script, testCluster } from './fake';
import { type AttemptResult, type CallPolicy, type Cluster, type Endpoint, UpstreamError } from './types';

const A = 20_101;
const B = 20_102;
const C = 20_103;
const D = 20_104;
const policy: CallPolicy = { timeoutMs: 0, replayable: true };

let open: Cluster[] = [];
const cluster = (c: Record<string, unknown>): Cluster => {
  const cl = testCluster(c);
  open.push(cl);
  return cl;
};
afterEach(() => {
  open.forEach((c) => c.close());
  open = [];
  jest.useRealTimers();
});

async function calls(c: Cluster, attempt: (ep: Endpoint, s: AbortSignal) => Promise<AttemptResult<string>>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await c.call(attempt, policy).catch(() => undefined);
}
const ejected = (c: Cluster): string[] => c.snapshot().endpoints.filter((e) => e.ejectedUntil !== undefined).map((e) => e.address);

it('ejects an endpoint after consecutive 5xx and brings it back after its time', async () => {
  const c = cluster({ endpoints: endpoints(A, B, C), outlierDetection: { consecutive5xx: 3, baseEjectionTime: 1000 } });
  const s = script({ [A]: [500] });
  await calls(c, s.attempt, 9);
  expect(ejected(c)).toEqual([`127.0.0.1:${A}`]);
  expect(c.snapshot().stats.ejections).toBe(1);
  const until_ = Date.parse(c.snapshot().endpoints[0]!.ejectedUntil!);
  expect(until_).toBeGreaterThan(Date.now());
  s.calls.length = 0;
  await calls(c, s.attempt, 20);
  expect(s.calls).not.toContain(A);
  await until(() => ejected(c).length === 0, () => `still ejected: ${ejected(c)}`, 5000);
  s.calls.length = 0;
  await calls(c, s.attempt, 3);
  expect(s.calls).toContain(A);
});

it('a success in between starts the count over; a lone endpoint is never ejected', async () => {
  const two = cluster({ endpoints: endpoints(A, B), outlierDetection: { consecutive5xx: 3 } });
  const s = script({ [A]: [500, 500, 200, 500, 500, 500] });
  await calls(two, s.attempt, 10);
  expect(ejected(two)).toEqual([]);
  await calls(two, s.attempt, 2);
  expect(ejected(two)).toEqual([`127.0.0.1:${A}`]);

  const lone = cluster({ endpoints: endpoints(C), outlierDetection: { consecutive5xx: 3 } });
  await calls(lone, script({ [C]: [500] }).attempt, 10);
  expect(ejected(lone)).toEqual([]);
});

it('counts gateway errors apart when asked to', async () => {
  const c = cluster({ endpoints: endpoints(A, B), outlierDetection: { consecutive5xx: 10, consecutiveGatewayErrors: 2 } });
  await calls(c, script({ [A]: [500, 500, 500] }).attempt, 6);
  expect(ejected(c)).toEqual([]);
  await calls(c, script({ [A]: [502, 504] }).attempt, 4);
  expect(ejected(c)).toEqual([`127.0.0.1:${A}`]);
});

it('ejects each time for longer: baseEjectionTime × times ejected', async () => {
  jest.useFakeTimers();
  const c = cluster({ endpoints: endpoints(A, B), outlierDetection: { consecutive5xx: 1, baseEjectionTime: '10s', interval: '1h' } });
  const s = script({ [A]: [500] });
  const ejectedFor = () => Date.parse(c.snapshot().endpoints[0]!.ejectedUntil!) - Date.now();
  await calls(c, s.attempt, 1);
  expect(ejectedFor()).toBe(10_000);
  await jest.advanceTimersByTimeAsync(10_000);
  expect(ejected(c)).toEqual([]);
  await calls(c, s.attempt, 2); // B, then A again
  expect(ejectedFor()).toBe(20_000);
  await jest.advanceTimersByTimeAsync(19_999);
  expect(ejected(c)).toHaveLength(1);
  await jest.advanceTimersByTimeAsync(1);
  expect(ejected(c)).toEqual([]);
});

it('the multiplier drops by one per interval spent back in', async () => {
  jest.useFakeTimers();
  const c = cluster({ endpoints: endpoints(A, B), outlierDetection: { consecutive5xx: 1, baseEjectionTime: '10s', interval: '30s' } });
  const s = script({ [A]: [500] });
  await calls(c, s.attempt, 1);
  await jest.advanceTimersByTimeAsync(10_000);
  await jest.advanceTimersByTimeAsync(30_000);
  await calls(c, s.attempt, 2);
  expect(Date.parse(c.snapshot().endpoints[0]!.ejectedUntil!) - Date.now()).toBe(10_000);
});

it('never ejects more than maxEjectionPercent, nor the last endpoint left', async () => {
  const all500 = script({ [A]: [500], [B]: [500], [C]: [500], [D]: [500] });
  const half = cluster({ endpoints: endpoints(A, B, C, D), outlierDetection: { consecutive5xx: 1, maxEjectionPercent: 50 } });
  await calls(half, all500.attempt, 12);
  expect(ejected(half)).toHaveLength(2);
  expect(half.snapshot().noHealthyEndpoints).toBe(false);

  const every = cluster({ endpoints: endpoints(A, B, C, D), outlierDetection: { consecutive5xx: 1, maxEjectionPercent: 100 } });
  await calls(every, all500.attempt, 12);
  expect(ejected(every)).toHaveLength(3);
  expect(every.snapshot().noHealthyEndpoints).toBe(false);
});

describe('against real sockets', () => {
  let server: http.Server;
  let live: number;
  let refused: number;
  beforeAll(async () => {
    const gone = http.createServer();
    await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
    refused = (gone.address() as AddressInfo).port;
    await new Promise((r) => gone.close(r));
    server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    live = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  /** A real HTTP GET; transport errors go back raw, for the cluster to classify. */
  const get = (ep: Endpoint): Promise<AttemptResult<number>> =>
    new Promise((resolve, reject) => {
      const req = http.get({ host: ep.host, port: ep.port, path: '/', agent: false }, (res) => {
        res.resume();
        resolve({ status: res.statusCode!, protocol: 'http', value: ep.port, discard: () => res.destroy() });
      });
      req.on('error', reject);
    });

  it('a refused port is a connect failure: retried on the live endpoint, then ejected', async () => {
    const c = cluster({ endpoints: endpoints(refused, live), outlierDetection: { consecutiveConnectFailures: 2 } });
    const retries = { attempts: 1, retryOn: ['connect-failure'], statuses: [], backoff: 0 };
    // Not replayable: connect failures sent nothing, so they are retried all the same.
    const p: CallPolicy = { timeoutMs: 5000, replayable: false, retries };
    for (let i = 0; i < 4; i++) await expect(c.call(get, p)).resolves.toBe(live);
    const snap = c.snapshot();
    expect(snap.endpoints[0]).toMatchObject({ address: `127.0.0.1:${refused}`, failures: 2, requests: 2 });
    expect(snap.endpoints[0]!.ejectedUntil).toBeDefined();
    expect(snap.stats).toMatchObject({ requests: 4, retries: 2, ejections: 1 });
    const err = await cluster({ endpoints: endpoints(refused) })
      .call(get, policy)
      .catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err.kind).toBe('connect-failure');
  });
});
