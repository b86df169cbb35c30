// Short soak (~40 s of load; bench/soak.mjs is the long one): state save/get on a real Redis,
// publish to pubsub.redis with a subscribing app, and invocation of a second app through a second
// sidecar, at a fixed rate with a cap on requests in flight. Zero errors, every published event
// delivered, and after warm-up the sidecar's RSS and event-loop lag (its own metrics endpoint) stay
// flat: the last third of the samples within generous bounds of the first third. No speed is asserted.
import { requireService } from '../../test/services';
import { runSoak, type SoakEnv, type SoakResult, startSoakEnv, thirds } from './load';

jest.setTimeout(5 * 60_000);

const DURATION_MS = Number(process.env.SOAK_MS ?? 40_000);
const WARMUP_S = 8;

describe('soak: state, publish and invoke under steady load', () => {
  let env: SoakEnv | undefined;
  let result: SoakResult;

  beforeAll(async () => {
    if (!(await requireService('redis', '127.0.0.1', 6379))) return;
    env = await startSoakEnv();
    result = await runSoak(env, { durationMs: DURATION_MS, rate: 80, maxInFlight: 32, sampleMs: 3000 });
    process.stdout.write(`soak: ${JSON.stringify({ done: result.done, skipped: result.skipped, published: result.published, delivered: result.delivered })}\n${result.samples.map((s) => JSON.stringify(s)).join('\n')}\n`);
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('completes every operation without an error and delivers every event', () => {
    if (!env) return;
    expect(result.errors.slice(0, 10)).toEqual([]);
    for (const n of Object.values(result.done)) expect(n).toBeGreaterThan(100);
    expect(result.delivered).toBe(result.published);
  });

  it('keeps RSS flat after warm-up (last third within 1.5x + 48 MB of the first)', () => {
    if (!env) return;
    for (const field of ['rssMbA', 'rssMbB'] as const) {
      const { first, last } = thirds(result.samples, field, WARMUP_S);
      expect(first).toBeGreaterThan(0);
      expect(last).toBeLessThanOrEqual(first * 1.5 + 48);
    }
  });

  it('keeps event-loop lag flat after warm-up (last third p99 within 4x + 150 ms of the first)', () => {
    if (!env) return;
    for (const field of ['lagP99MsA', 'lagP99MsB'] as const) {
      const { first, last } = thirds(result.samples, field, WARMUP_S);
      expect(Number.isFinite(first)).toBe(true);
      expect(last).toBeLessThanOrEqual(first * 4 + 150);
    }
  });
});
