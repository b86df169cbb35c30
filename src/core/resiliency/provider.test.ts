import { resiliencyFrom as provider } from '../../../test/resiliency';
import { sleep } from '../../../test/wait';
import { backoffOf } from './backoff';
import { CircuitBreakerOpenError, permanent, ResiliencyTimeoutError, StatusCodeError } from './errors';
import { NO_RESILIENCY } from './types';

/** An operation that fails `failures` times (with what `error(n)` gives), then answers 'ok'; records when each attempt ran. */
function flaky(failures: number, error: (n: number) => unknown = (n) => new Error(`failure ${n}`)) {
  const at: number[] = [];
  const op = async () => {
    at.push(Date.now());
    if (at.length <= failures) throw error(at.length);
    return 'ok';
  };
  return { op, at, gaps: () => at.slice(1).map((t, i) => t - at[i]!) };
}

const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e);

describe('timeouts', () => {
  const r = provider('  policies:\n    timeouts:\n      short: 50ms\n  targets:\n    components:\n      store:\n        outbound: {timeout: short}\n');

  it('fire, abort the operation and fail with a deadline error', async () => {
    let signal: AbortSignal | undefined;
    const started = Date.now();
    const e = await failure(r.componentOutbound('store', (s) => {
      signal = s;
      return new Promise((_, reject) => s.addEventListener('abort', () => reject(new Error('aborted by the signal'))));
    }));
    expect(e).toBeInstanceOf(ResiliencyTimeoutError);
    expect((e as Error).message).toBe('context deadline exceeded (timeout 50ms)');
    expect(signal?.aborted).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('do not wait for an operation that ignores the signal', async () => {
    expect(await failure(r.componentOutbound('store', () => new Promise(() => undefined)))).toBeInstanceOf(ResiliencyTimeoutError);
  });

  it('leave a fast operation and its signal alone', async () => {
    let signal: AbortSignal | undefined;
    expect(await r.componentOutbound('store', async (s) => ((signal = s), 42))).toBe(42);
    await sleep(60);
    expect(signal?.aborted).toBe(false);
  });
});

describe('retries', () => {
  const r = provider(`  policies:
    timeouts:
      short: 40ms
    retries:
      constant: {policy: constant, duration: 30ms, maxRetries: 2}
      exponential: {policy: exponential, maxInterval: 20ms, maxRetries: 3}
      forever: {policy: constant, duration: 1ms, maxRetries: -1}
      onlyServerErrors: {duration: 1ms, maxRetries: 3, matching: {httpStatusCodes: "429,500-599", gRPCStatusCodes: "14"}}
  targets:
    components:
      constant: {outbound: {retry: constant}}
      exponential: {outbound: {retry: exponential}}
      forever: {outbound: {retry: forever}}
      matching: {outbound: {retry: onlyServerErrors}}
      slow: {outbound: {retry: constant, timeout: short}}
`);

  it('constant: retry maxRetries times, duration apart, then fail with the last error', async () => {
    const f = flaky(10);
    const e = await failure(r.componentOutbound('constant', f.op));
    expect((e as Error).message).toBe('failure 3');
    expect(f.at).toHaveLength(3);
    for (const gap of f.gaps()) expect(gap).toBeGreaterThanOrEqual(25);
  });

  it('constant: an operation that recovers within maxRetries succeeds', async () => {
    const f = flaky(2);
    expect(await r.componentOutbound('constant', f.op)).toBe('ok');
    expect(f.at).toHaveLength(3);
  });

  it('exponential: retry maxRetries times, waits capped at maxInterval', async () => {
    const f = flaky(10);
    await failure(r.componentOutbound('exponential', f.op));
    expect(f.at).toHaveLength(4);
    for (const gap of f.gaps()) expect(gap).toBeGreaterThanOrEqual(9); // ≥ maxInterval × 0.5 once capped
  });

  it('exponential waits grow ×1.5 from 500 ms, ±50 %, capped at maxInterval (dapr/kit backoff)', () => {
    const waits = (random: number) => {
      const spy = jest.spyOn(Math, 'random').mockReturnValue(random);
      try {
        let b = backoffOf({ name: 'x', policy: 'exponential', durationMs: 0, maxIntervalMs: 1500, maxRetries: 5, matching: {} }).next(undefined);
        const out = [b.duration];
        for (let i = 0; i < 4; i++) out.push((b = b.next(undefined)).duration);
        return out;
      } finally {
        spy.mockRestore();
      }
    };
    expect(waits(0.5)).toEqual([500, 750, 1125, 1500, 1500]);
    expect(waits(0)).toEqual([250, 375, 562.5, 750, 750]);
    expect(waits(0.9999).map(Math.round)).toEqual([750, 1125, 1500, 1500, 1500]);
  });

  it('maxRetries -1 retries until the operation succeeds', async () => {
    const f = flaky(7);
    expect(await r.componentOutbound('forever', f.op)).toBe('ok');
    expect(f.at).toHaveLength(8);
  });

  it('retry only the status codes `matching` names, and every error without a code', async () => {
    const http = (status: number) => () => new StatusCodeError(status, 'http', `HTTP ${status}`);
    const grpc = (code: number) => () => new StatusCodeError(code, 'grpc', `gRPC ${code}`);
    for (const [error, attempts] of [[http(404), 1], [http(503), 4], [http(429), 4], [grpc(14), 4], [grpc(5), 1], [() => new Error('reset'), 4]] as const) {
      const f = flaky(10, error);
      await failure(r.componentOutbound('matching', f.op));
      expect(f.at).toHaveLength(attempts);
    }
  });

  it('never retry a permanent error, and hand back the error inside it', async () => {
    const inner = new Error('etag mismatch');
    const f = flaky(10, () => permanent(inner));
    expect(await failure(r.componentOutbound('constant', f.op))).toBe(inner);
    expect(f.at).toHaveLength(1);
    // Without policies too.
    expect(await failure(NO_RESILIENCY.componentOutbound('x', async () => { throw permanent(inner); }))).toBe(inner);
  });

  it('time out each attempt on its own', async () => {
    let attempts = 0;
    const op = (s: AbortSignal) => (++attempts === 1 ? new Promise<string>((_, rej) => s.addEventListener('abort', () => rej(new Error('aborted')))) : Promise.resolve('second'));
    expect(await r.componentOutbound('slow', op)).toBe('second');
    expect(attempts).toBe(2);
  });
});

describe('circuit breakers', () => {
  const spec = `  policies:
    retries:
      many: {duration: 1ms, maxRetries: 10}
    circuitBreakers:
      three: {trip: consecutiveFailures > 2, timeout: 300ms}
      ratio: {trip: "totalFailures >= 2", interval: 300ms, timeout: 300ms}
  targets:
    apps:
      other: {circuitBreaker: three, circuitBreakerCacheSize: 2}
    components:
      a: {outbound: {circuitBreaker: three}}
      b: {outbound: {circuitBreaker: three}}
      retried: {outbound: {circuitBreaker: three, retry: many}}
      ratio: {outbound: {circuitBreaker: ratio}}
`;

  it('open after the trip condition, fail fast, half-open after `timeout` and close on success', async () => {
    const r = provider(spec);
    const f = flaky(3);
    for (let i = 0; i < 3; i++) expect(((await failure(r.componentOutbound('a', f.op))) as Error).message).toBe(`failure ${i + 1}`);
    const open = await failure(r.componentOutbound('a', f.op));
    expect(open).toBeInstanceOf(CircuitBreakerOpenError);
    expect((open as Error).message).toBe('circuit breaker is open');
    expect(f.at).toHaveLength(3); // failed fast: the operation did not run
    // Another component's breaker is its own.
    expect(await r.componentOutbound('b', async () => 'b')).toBe('b');

    await sleep(320); // the open period passes
    expect(await r.componentOutbound('a', f.op)).toBe('ok'); // the half-open test call
    // Closed again: it takes three new failures to open it.
    const g = flaky(2);
    await failure(r.componentOutbound('a', g.op));
    await failure(r.componentOutbound('a', g.op));
    expect(await r.componentOutbound('a', g.op)).toBe('ok');
  });

  it('reopen when the half-open test call fails', async () => {
    const r = provider(spec);
    const f = flaky(10);
    for (let i = 0; i < 3; i++) await failure(r.componentOutbound('a', f.op));
    await sleep(320);
    expect(((await failure(r.componentOutbound('a', f.op))) as Error).message).toBe('failure 4');
    expect(await failure(r.componentOutbound('a', f.op))).toBeInstanceOf(CircuitBreakerOpenError);
    expect(f.at).toHaveLength(4);
  });

  it('stop the retries once open', async () => {
    const r = provider(spec);
    const f = flaky(100);
    expect(await failure(r.componentOutbound('retried', f.op))).toBeInstanceOf(CircuitBreakerOpenError);
    expect(f.at).toHaveLength(3);
  });

  it('evaluate other trip expressions over counters that start over every interval', async () => {
    const r = provider(spec);
    const f = flaky(100);
    await failure(r.componentOutbound('ratio', f.op));
    await sleep(320); // a new interval: totalFailures is 0 again
    await failure(r.componentOutbound('ratio', f.op));
    expect(f.at).toHaveLength(2);
    await failure(r.componentOutbound('ratio', f.op)); // totalFailures 2: trips
    expect(await failure(r.componentOutbound('ratio', f.op))).toBeInstanceOf(CircuitBreakerOpenError);
    expect(f.at).toHaveLength(3);
  });

  it('keep one breaker per app endpoint, the least recently used dropped past circuitBreakerCacheSize', async () => {
    const r = provider(spec);
    const fail = async () => {
      throw new Error('down');
    };
    for (let i = 0; i < 3; i++) await failure(r.app('other', fail, 'other:a'));
    expect(await failure(r.app('other', fail, 'other:a'))).toBeInstanceOf(CircuitBreakerOpenError);
    expect(await r.app('other', async () => 'b', 'other:b')).toBe('b');
    expect(await failure(r.app('other', fail, 'other:a'))).toBeInstanceOf(CircuitBreakerOpenError);
    await r.app('other', async () => 'c', 'other:c'); // the cache holds two: other:b goes
    await r.app('other', async () => 'b', 'other:b'); // and comes back, so other:a goes
    expect(await r.app('other', async () => 'a again', 'other:a')).toBe('a again'); // a fresh, closed breaker
  });
});

describe('which policies apply', () => {
  const r = provider(`  policies:
    retries:
      DefaultRetryPolicy: {duration: 1ms, maxRetries: 1}
      DefaultComponentOutboundRetryPolicy: {duration: 1ms, maxRetries: 2}
      DefaultStatestoreComponentOutboundRetryPolicy: {duration: 1ms, maxRetries: 3}
      DefaultAppRetryPolicy: {duration: 1ms, maxRetries: 4}
      DaprBuiltInServiceRetries: {duration: 1ms, maxRetries: 3}
    timeouts:
      t: 1s
  targets:
    apps:
      named: {timeout: t}
    components:
      named: {outbound: {timeout: t}}
`);

  it('a named target first, else the most specific Default* policy', async () => {
    const attempts = async (run: (op: () => Promise<never>) => Promise<unknown>) => {
      const f = flaky(100);
      await failure(run(f.op as () => Promise<never>));
      return f.at.length;
    };
    expect(await attempts((op) => r.componentOutbound('store', op, 'state'))).toBe(4);
    expect(await attempts((op) => r.componentOutbound('broker', op, 'pubsub'))).toBe(3);
    expect(await attempts((op) => r.componentOutbound('unknown-kind', op))).toBe(3);
    expect(await attempts((op) => r.componentInbound('broker', op, 'pubsub'))).toBe(2);
    expect(await attempts((op) => r.app('some-app', op))).toBe(5);
    // A named target takes over: its own policies only, no defaults (either direction).
    expect(await attempts((op) => r.componentOutbound('named', op, 'state'))).toBe(1);
    expect(await attempts((op) => r.componentInbound('named', op, 'state'))).toBe(1);
    expect(await attempts((op) => r.app('named', op))).toBe(1);
  });

  it("sidecar calls get daprd's built-in retries on UNAVAILABLE and UNAUTHENTICATED, unless the app is a named target", async () => {
    const grpcError = (code: number) => () => Object.assign(new Error(`code ${code}`), { code });
    const unavailable = flaky(2, grpcError(14));
    expect(await r.sidecarCall('some-app', unavailable.op)).toBe('ok');
    expect(unavailable.at).toHaveLength(3);
    const unauthenticated = flaky(10, grpcError(16));
    await failure(r.sidecarCall('some-app', unauthenticated.op));
    expect(unauthenticated.at).toHaveLength(4);
    const notFound = flaky(10, grpcError(5));
    await failure(r.sidecarCall('some-app', notFound.op));
    expect(notFound.at).toHaveLength(1);
    const named = flaky(10, grpcError(14));
    await failure(r.sidecarCall('named', named.op));
    expect(named.at).toHaveLength(1);
  });
});
