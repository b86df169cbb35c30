// Paced load for the rate-limit suites: requests offered at a steady rate for a while, with the
// time each answer came back, and the admitted rate once the initial burst is spent.
import type { Pool } from 'undici';
import { sleep } from '../../test/wait';

export interface Outcome {
  /** ms since the start when the answer came back. */
  at: number;
  /** HTTP status; 0 when the request failed. */
  status: number;
}

/**
 * Offers `rps` requests per second to each pool for `ms`, paced in small batches, and records when each
 * answer came back relative to the start. At most `maxInFlight` per pool are outstanding: a server
 * slower than the offered rate (a busy 2-core box) then sees its own top speed instead of a queue
 * that outlives the test.
 */
export async function offer(pools: Pool[], path: string, rps: number, ms: number, maxInFlight = 48, headers: Record<string, string> = {}): Promise<Outcome[]> {
  const out: Outcome[] = [];
  const pending: Promise<void>[] = [];
  const inFlight = pools.map(() => 0);
  const start = performance.now();
  let sent = 0;
  for (let now = 0; now < ms; now = performance.now() - start) {
    const due = Math.floor((now / 1000) * rps);
    for (; sent < due; sent++) {
      pools.forEach((pool, i) => {
        if (inFlight[i]! >= maxInFlight) return;
        inFlight[i]!++;
        const done = (status: number) => {
          inFlight[i]!--;
          out.push({ at: performance.now() - start, status });
        };
        pending.push(pool.request({ method: 'GET', path, headers }).then(async (r) => (await r.body.dump(), done(r.statusCode)), () => done(0)));
      });
    }
    await sleep(5);
  }
  await Promise.all(pending);
  return out;
}

/**
 * Admitted answers per second over 3 s of saturation: from 1 s after the first refusal (status
 * `limited`; the initial burst is spent by then and the limit is what holds requests back) on.
 */
export function steadyRate(o: Outcome[], limited = 429): number {
  const first = Math.min(...o.filter((x) => x.status === limited).map((x) => x.at));
  // No refusal at all: the server never saw more than the limit (a machine too busy to offer it).
  if (first === Infinity) throw new Error(`no request was refused: ${o.length} answers in ${Math.round(Math.max(0, ...o.map((x) => x.at)))} ms`);
  const from = first + 1000;
  const to = from + 3000;
  expect(Math.max(...o.map((x) => x.at))).toBeGreaterThanOrEqual(to);
  return o.filter((x) => x.at >= from && x.at < to && x.status !== limited).length / 3;
}
