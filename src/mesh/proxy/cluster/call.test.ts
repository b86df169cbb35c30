// call(): retries (on another endpoint, on the listed conditions only, replayable or not), per-try
// timeouts, the whole deadline, the downstream going away, Resiliency refs (retry, timeout, a
// breaker per cluster opening and recovering through half-open), and the counters they leave.
import type { BreakerSpec, RetrySpec } from '../../../core/resiliency/spec';
import { endpoints, noPolicies, retryConfig, script, testCluster } from './fake';
import { checkRefs } from './index';
import { type AttemptResult, type CallPolicy, type Cluster, type Endpoint, NoHealthyUpstreamError, UpstreamError, UpstreamOpenCircuitError, UpstreamTimeoutError } from './types';

const A = 20_001;
const B = 20_002;
const C = 20_003;

const policy = (p: Partial<CallPolicy> = {}): CallPolicy => ({ timeoutMs: 0, replayable: true, ...p });
const retries = (r: Record<string, unknown>) => retryConfig({ backoff: 0, ...r });

let open: Cluster[] = [];
const cluster = (c: Record<string, unknown>, policies = noPolicies()): Cluster => {
  const cl = testCluster({ endpoints: endpoints(A, B, C), ...c }, policies);
  open.push(cl);
  return cl;
};
afterEach(() => {
  open.forEach((c) => c.close());
  open = [];
});

describe('one attempt', () => {
  it('returns the answer of the picked endpoint and counts it', async () => {
    const c = cluster({});
    const s = script({ [A]: [404] });
    await expect(c.call(s.attempt, policy())).resolves.toBe(`${A}:404`);
    const snap = c.snapshot();
    expect(snap.stats).toMatchObject({ requests: 1, active: 0, retries: 0 });
    expect(snap.endpoints[0]).toMatchObject({ address: `127.0.0.1:${A}`, requests: 1, failures: 0, active: 0, health: 'unchecked' });
  });

  it('counts a request in flight as active on its endpoint', async () => {
    const c = cluster({});
    let release!: () => void;
    const p = c.call<number>((ep) => new Promise((r) => (release = () => r({ status: 200, protocol: 'http', value: ep.port, discard() {} }))), policy());
    expect(c.snapshot().endpoints[0]!.active).toBe(1);
    expect(c.snapshot().stats.active).toBe(1);
    release();
    await p;
    expect(c.snapshot().stats.active).toBe(0);
  });

  it('does not retry without a retry policy: a 503 comes back as it is, a failure as an UpstreamError', async () => {
    const c = cluster({});
    const s = script({ [A]: [503], [B]: [{ grpc: 14 }] });
    await expect(c.call(s.attempt, policy())).resolves.toBe(`${A}:503`);
    await expect(c.call(s.attempt, policy())).resolves.toBe(`${B}:14`);
    await expect(c.call(() => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), policy())).rejects.toMatchObject({ name: 'UpstreamError', kind: 'connect-failure' });
    expect(c.snapshot().endpoints.map((e) => e.failures)).toEqual([1, 1, 1]);
  });

  it('answers NoHealthyUpstreamError when no endpoint can take it', async () => {
    const c = cluster({ endpoints: [], appId: 'other' });
    await expect(c.call(script({}).attempt, policy())).rejects.toBeInstanceOf(NoHealthyUpstreamError);
    expect(c.snapshot()).toMatchObject({ appId: 'other', stats: { noHealthy: 1 } });
  });
});

describe('route retries', () => {
  it('retries a gateway error on another endpoint and discards the answer it does not return', async () => {
    const c = cluster({});
    const s = script({ [A]: [503], [B]: [503], [C]: [200] });
    await expect(c.call(s.attempt, policy({ retries: retries({ attempts: 2, retryOn: ['gateway-error'] }) }))).resolves.toBe(`${C}:200`);
    expect(s.calls).toEqual([A, B, C]);
    expect(s.discarded).toEqual([`${A}:503`, `${B}:503`]);
    expect(c.snapshot().stats.retries).toBe(2);
  });

  it('returns the last answer when the retries run out', async () => {
    const c = cluster({});
    const s = script({ [A]: [502], [B]: [503], [C]: [504] });
    await expect(c.call(s.attempt, policy({ retries: retries({ attempts: 1 }) }))).resolves.toBe(`${B}:503`);
    expect(s.discarded).toEqual([`${A}:502`]);
  });

  it('retries the listed statuses only', async () => {
    const c = cluster({});
    const r = retries({ attempts: 2, retryOn: ['retriable-status'], statuses: [429] });
    const s = script({ [A]: [429, 500], [B]: [200, 503] });
    await expect(c.call(s.attempt, policy({ retries: r }))).resolves.toBe(`${B}:200`);
    // 500 and 503 are not listed (and 5xx is not asked for).
    await expect(c.call(s.attempt, policy({ retries: r }))).resolves.toBe(`${C}:200`);
    expect(s.calls).toEqual([A, B, C]);
    const s2 = script({ [A]: [500] });
    await expect(c.call(s2.attempt, policy({ retries: r }))).resolves.toBe(`${A}:500`);
    expect(s2.calls).toEqual([A]);
  });

  it('retries gRPC answers by their grpc-status names', async () => {
    const c = cluster({});
    const r = retries({ attempts: 1, retryOn: ['unavailable'] });
    const s = script({ [A]: [{ grpc: 14 }], [B]: [{ grpc: 0 }], [C]: [{ grpc: 13 }] });
    await expect(c.call(s.attempt, policy({ retries: r }))).resolves.toBe(`${B}:0`);
    await expect(c.call(s.attempt, policy({ retries: r }))).resolves.toBe(`${C}:13`);
    expect(s.calls).toEqual([A, B, C]);
  });

  it('retries connect failures and resets by name, and both under 5xx', async () => {
    const c = cluster({});
    const s = script({ [A]: ['connect'], [B]: ['reset'], [C]: [200] });
    await expect(c.call(s.attempt, policy({ retries: retries({ attempts: 2, retryOn: ['connect-failure'] }) }))).rejects.toMatchObject({ kind: 'reset' });
    expect(s.calls).toEqual([A, B]);
    const s2 = script({ [C]: ['reset'], [A]: ['connect'], [B]: [201] });
    await expect(c.call(s2.attempt, policy({ retries: retries({ attempts: 2, retryOn: ['5xx'] }) }))).resolves.toBe(`${B}:201`);
    expect(s2.calls).toEqual([C, A, B]);
  });

  it('a body that cannot be replayed is retried only after a connect failure', async () => {
    const c = cluster({});
    const r = retries({ attempts: 2, retryOn: ['5xx'] });
    const s = script({ [A]: ['connect'], [B]: [503] });
    await expect(c.call(s.attempt, policy({ retries: r, replayable: false }))).resolves.toBe(`${B}:503`);
    expect(s.calls).toEqual([A, B]);
  });

  it('goes back to a tried endpoint when it is the only one left', async () => {
    const c = testCluster({ endpoints: endpoints(A) });
    const s = script({ [A]: [503, 200] });
    await expect(c.call(s.attempt, policy({ retries: retries({ attempts: 1 }) }))).resolves.toBe(`${A}:200`);
    expect(s.calls).toEqual([A, A]);
  });

  it('waits the jittered backoff between attempts', async () => {
    jest.useFakeTimers();
    try {
      const c = testCluster({ endpoints: endpoints(A, B) });
      const s = script({ [A]: [503] });
      const p = c.call(s.attempt, policy({ retries: retryConfig({ attempts: 1, backoff: '1s' }) }));
      await jest.advanceTimersByTimeAsync(0);
      expect(s.calls).toEqual([A]);
      // The first retry waits less than the base interval.
      await jest.advanceTimersByTimeAsync(1000);
      await expect(p).resolves.toBe(`${B}:200`);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('timeouts', () => {
  it('a per-try timeout aborts the attempt and retries on another endpoint', async () => {
    const c = cluster({});
    const s = script({ [A]: ['hang'], [B]: [200] });
    await expect(c.call(s.attempt, policy({ timeoutMs: 5000, retries: retries({ attempts: 1, retryOn: ['reset'], perTryTimeout: 50 }) }))).resolves.toBe(`${B}:200`);
    expect(s.signals[0]!.aborted).toBe(true);
    expect(s.signals[1]!.aborted).toBe(false);
    expect(c.snapshot()).toMatchObject({ stats: { timeouts: 1, retries: 1 }, endpoints: [{ failures: 1 }, { failures: 0 }, {}] });
  });

  it('the last per-try timeout answers UpstreamTimeoutError', async () => {
    const c = cluster({});
    const s = script({ [A]: ['hang'], [B]: ['hang'] });
    const err = await c.call(s.attempt, policy({ retries: retries({ attempts: 1, perTryTimeout: 30 }) })).catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamTimeoutError);
    expect(err.status).toBe(504);
    expect(s.calls).toEqual([A, B]);
    expect(c.snapshot().stats.timeouts).toBe(2);
  });

  it('the whole deadline covers the retries and aborts the attempt in flight', async () => {
    const c = cluster({});
    const s = script({ [A]: [503], [B]: ['hang'] });
    const err = await c.call(s.attempt, policy({ timeoutMs: 80, retries: retries({ attempts: 3 }) })).catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamTimeoutError);
    expect(err.message).toContain('80ms');
    expect(s.calls).toEqual([A, B]);
    expect(s.signals[1]!.aborted).toBe(true);
    expect(c.snapshot().stats.timeouts).toBe(1);
  });

  it('the deadline ends a backoff wait', async () => {
    const c = cluster({});
    const s = script({ [A]: [503] });
    await expect(c.call(s.attempt, policy({ timeoutMs: 50, retries: retryConfig({ attempts: 1, backoff: '1h' }) }))).rejects.toBeInstanceOf(UpstreamTimeoutError);
    expect(s.calls).toEqual([A]);
  });

  it('an answer that comes after the deadline fired is discarded', async () => {
    const c = cluster({});
    const discarded: number[] = [];
    const late = (_ep: unknown, signal: AbortSignal) =>
      new Promise<{ status: number; protocol: 'http'; value: number; discard(): void }>((resolve) =>
        signal.addEventListener('abort', () => resolve({ status: 200, protocol: 'http', value: 1, discard: () => discarded.push(1) })),
      );
    await expect(c.call(late, policy({ timeoutMs: 20 }))).rejects.toBeInstanceOf(UpstreamTimeoutError);
    expect(discarded).toEqual([1]);
  });

  it('the downstream going away stops the attempt without blaming the endpoint', async () => {
    const c = cluster({ outlierDetection: { consecutive5xx: 1 } });
    const down = new AbortController();
    const s = script({ [A]: ['hang'] });
    const p = c.call(s.attempt, policy({ signal: down.signal, retries: retries({ attempts: 2, retryOn: ['5xx'] }) }));
    down.abort();
    await expect(p).rejects.toBeInstanceOf(UpstreamError);
    expect(s.calls).toEqual([A]);
    expect(s.signals[0]!.aborted).toBe(true);
    expect(c.snapshot().endpoints[0]).toMatchObject({ failures: 0 });
    expect(c.snapshot().endpoints[0]!.ejectedUntil).toBeUndefined();
    await expect(c.call(s.attempt, policy({ signal: down.signal }))).rejects.toBeInstanceOf(UpstreamError);
  });
});

describe('Resiliency refs', () => {
  const retrySpec = (r: Partial<RetrySpec>): RetrySpec => ({ name: 'r', policy: 'constant', durationMs: 1, maxIntervalMs: 0, maxRetries: 2, matching: {}, ...r });
  const breakerSpec = (b: Partial<BreakerSpec> = {}): BreakerSpec => ({
    name: 'cb',
    maxRequests: 1,
    intervalMs: 0,
    timeoutMs: 500,
    trip: 'consecutiveFailures > 2',
    consecutiveFailuresAbove: 2,
    evaluate: (c) => c.consecutiveFailures > 2,
    ...b,
  });
  const policies = (p: { retry?: RetrySpec; timeout?: number; breaker?: BreakerSpec }) => {
    const l = noPolicies();
    if (p.retry) (l.retries as Map<string, RetrySpec>).set('retry', p.retry);
    if (p.timeout) (l.timeouts as Map<string, number>).set('timeout', p.timeout);
    if (p.breaker) (l.circuitBreakers as Map<string, BreakerSpec>).set('cb', p.breaker);
    return l;
  };

  it('a named retry policy retries server failures, or exactly the matching codes', async () => {
    const c = cluster({ resiliency: { retry: 'retry' } }, policies({ retry: retrySpec({}) }));
    const s = script({ [A]: [503], [B]: [404] });
    await expect(c.call(s.attempt, policy())).resolves.toBe(`${B}:404`);
    expect(s.calls).toEqual([A, B]);

    const m = cluster({ resiliency: { retry: 'retry' } }, policies({ retry: retrySpec({ matching: { http: [[429, 429]] } }) }));
    const s2 = script({ [A]: [429], [B]: [503] });
    await expect(m.call(s2.attempt, policy())).resolves.toBe(`${B}:503`);
    expect(s2.calls).toEqual([A, B]);
  });

  it('route retries take the place of the named retry policy', async () => {
    const c = cluster({ resiliency: { retry: 'retry' } }, policies({ retry: retrySpec({}) }));
    const s = script({ [A]: [503] });
    await expect(c.call(s.attempt, policy({ retries: retries({ attempts: 0 }) }))).resolves.toBe(`${A}:503`);
    expect(s.calls).toEqual([A]);
  });

  it('a named timeout bounds each attempt', async () => {
    const c = cluster({ resiliency: { timeout: 'timeout' } }, policies({ timeout: 30 }));
    await expect(c.call(script({ [A]: ['hang'] }).attempt, policy())).rejects.toMatchObject({ name: 'UpstreamTimeoutError', message: expect.stringContaining('30ms') });
  });

  it('names that no loaded policy has: the cluster fails to build; a route\'s are ignored', async () => {
    expect(() => cluster({ resiliency: { circuitBreaker: 'nope' } })).toThrow('cluster c: resiliency: no circuit breaker policy named "nope"');
    expect(checkRefs(noPolicies(), { retry: 'x' }, retries({ retryOn: ['5xx', 'bogus'] }))).toEqual(['no retry policy named "x"', 'unknown retryOn "bogus"']);
    const c = cluster({});
    const s = script({ [A]: [503] });
    await expect(c.call(s.attempt, policy({ resiliency: { retry: 'x', timeout: 'y' } }))).resolves.toBe(`${A}:503`);
    expect(s.calls).toEqual([A]);
  });

  it('the breaker opens after its trip, answers UpstreamOpenCircuitError, and closes after a good half-open call', async () => {
    const c = cluster({ resiliency: { circuitBreaker: 'cb' } }, policies({ breaker: breakerSpec() }));
    const failing = script({ [A]: [500], [B]: ['reset'], [C]: [503] });
    await expect(c.call(failing.attempt, policy())).resolves.toBe(`${A}:500`);
    await expect(c.call(failing.attempt, policy())).rejects.toMatchObject({ kind: 'reset' });
    expect(c.snapshot().stats.breakerOpen).toBe(false);
    await expect(c.call(failing.attempt, policy())).resolves.toBe(`${C}:503`);
    expect(c.snapshot().stats.breakerOpen).toBe(true);

    const good = script({});
    await expect(c.call(good.attempt, policy())).rejects.toBeInstanceOf(UpstreamOpenCircuitError);
    expect(good.calls).toEqual([]);

    await new Promise((r) => setTimeout(r, 550));
    // Half-open: a failing test call opens it again.
    await expect(c.call(script({ [A]: [500], [B]: [500], [C]: [500] }).attempt, policy())).resolves.toMatch(/:500$/);
    await expect(c.call(good.attempt, policy())).rejects.toBeInstanceOf(UpstreamOpenCircuitError);
    await new Promise((r) => setTimeout(r, 550));
    await expect(c.call(good.attempt, policy())).resolves.toMatch(/:200$/);
    expect(c.snapshot().stats.breakerOpen).toBe(false);
    await expect(c.call(good.attempt, policy())).resolves.toMatch(/:200$/);
  });

  it('client errors do not count against the breaker, and an open breaker stops the retries', async () => {
    const c = cluster({ resiliency: { circuitBreaker: 'cb' } }, policies({ breaker: breakerSpec() }));
    const s = script({ [A]: [404], [B]: [404], [C]: [404] });
    for (let i = 0; i < 6; i++) await c.call(s.attempt, policy());
    expect(c.snapshot().stats.breakerOpen).toBe(false);
    const failing = script({ [A]: [503], [B]: [503], [C]: [503] });
    await expect(c.call(failing.attempt, policy({ retries: retries({ attempts: 5 }) }))).resolves.toBe(`${C}:503`);
    expect(failing.calls).toEqual([A, B, C]);
  });
});

describe('callDirect: one attempt with callbacks when the policy needs no retry loop', () => {
  type Attempt = (ep: Endpoint, signal: AbortSignal) => Promise<AttemptResult<unknown>>;
  /** callDirect() over a promise attempt, its answer as a promise; false when it declined. */
  const direct = (c: Cluster, attempt: Attempt, p: CallPolicy): Promise<unknown> | false => {
    let settle!: (e: unknown, v?: unknown) => void;
    const out = new Promise((resolve, reject) => (settle = (e, v) => (v !== undefined ? resolve(v) : reject(e))));
    return c.callDirect!((ep, signal, ok, fail) => void attempt(ep, signal).then(ok, fail), p, settle) ? out : false;
  };

  it('answers as call() does and counts the same: a 503 as it is, a failure as an UpstreamError', async () => {
    const c = cluster({});
    const s = script({ [A]: [503], [B]: [{ grpc: 14 }] });
    await expect(direct(c, s.attempt, policy())).resolves.toBe(`${A}:503`);
    await expect(direct(c, s.attempt, policy())).resolves.toBe(`${B}:14`);
    await expect(direct(c, () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), policy())).rejects.toMatchObject({ name: 'UpstreamError', kind: 'connect-failure' });
    const snap = c.snapshot();
    expect(snap.endpoints.map((e) => [e.requests, e.failures, e.active])).toEqual([[1, 1, 0], [1, 1, 0], [1, 1, 0]]);
    expect(snap.stats).toMatchObject({ requests: 3, active: 0 });
  });

  it('declines (and counts nothing) when the route retries or the cluster has circuit-breaker limits', () => {
    const c = cluster({});
    expect(direct(c, script({}).attempt, policy({ retries: retries({ attempts: 2 }) }))).toBe(false);
    expect(c.snapshot().stats.requests).toBe(0);
    const limited = cluster({ circuitBreakers: { maxRequests: 10 } });
    expect(direct(limited, script({}).attempt, policy())).toBe(false);
  });

  it('answers NoHealthyUpstreamError when no endpoint can take it', async () => {
    const c = cluster({ endpoints: [], appId: 'other' });
    await expect(direct(c, script({}).attempt, policy())).rejects.toBeInstanceOf(NoHealthyUpstreamError);
    expect(c.snapshot().stats.noHealthy).toBe(1);
  });

  it('the deadline aborts the attempt, and an answer after it is discarded', async () => {
    const c = cluster({});
    const s = script({ [A]: ['hang'] });
    await expect(direct(c, s.attempt, policy({ timeoutMs: 30 }))).rejects.toBeInstanceOf(UpstreamTimeoutError);
    expect(s.signals[0]!.aborted).toBe(true);
    expect(c.snapshot().stats.timeouts).toBe(1);
    const discarded: number[] = [];
    const late: Attempt = (_ep, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve({ status: 200, protocol: 'http', value: 1, discard: () => discarded.push(1) })));
    await expect(direct(c, late, policy({ timeoutMs: 20 }))).rejects.toBeInstanceOf(UpstreamTimeoutError);
    expect(discarded).toEqual([1]);
  });

  it('the downstream going away stops the attempt without blaming the endpoint', async () => {
    const c = cluster({ outlierDetection: { consecutive5xx: 1 } });
    const down = new AbortController();
    const s = script({ [A]: ['hang'] });
    const p = direct(c, s.attempt, policy({ signal: down.signal }));
    down.abort();
    await expect(p).rejects.toBeInstanceOf(UpstreamError);
    expect(s.signals[0]!.aborted).toBe(true);
    expect(c.snapshot().endpoints[0]).toMatchObject({ failures: 0, active: 0 });
  });
});
