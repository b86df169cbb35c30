// Paced load for the rate-limit suites: requests offered at a steady rate for a while, with the
// time each answer came back, and the admitted rate once the initial burst is spent.
import type { Pool } from 'undici';
import { sleep } from '../../test/wait';

export interface Outcome {
  /** ms since the start when the request was sent. */
  sent: number;
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
        const sentAt = performance.now() - start;
        const done = (status: number) => {
          inFlight[i]!--;
          out.push({ sent: sentAt, at: performance.now() - start, status });
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
 * The 3 s of saturation steadyRate measures: from 1 s after the first refusal (status `limited`) on,
 * requests counted by when they were sent. The limiter decides at arrival, a moment after the send;
 * answers on a loaded machine come back late and unevenly, which would move admitted requests
 * across the window's edges (and across a fixed-window limiter's second boundaries).
 */
function saturated(o: Outcome[], limited: number): { inWindow: Outcome[]; from: number; to: number } {
  const first = Math.min(...o.filter((x) => x.status === limited).map((x) => x.sent));
  // No refusal at all: the server never saw more than the limit (a machine too busy to offer it).
  if (first === Infinity) throw new Error(`no request was refused: ${o.length} answers in ${Math.round(Math.max(0, ...o.map((x) => x.at)))} ms`);
  const from = first + 1000;
  const to = from + 3000;
  expect(Math.max(...o.map((x) => x.sent))).toBeGreaterThanOrEqual(to);
  return { inWindow: o.filter((x) => x.sent >= from && x.sent < to), from, to };
}

/**
 * Admitted answers per second over 3 s of saturation: from 1 s after the first refusal (the initial
 * burst is spent by then and the limit is what holds requests back) on. The bound that matters for
 * "never more than the limit".
 */
export function steadyRate(o: Outcome[], limited = 429): number {
  const { inWindow, from, to } = saturated(o, limited);
  const admitted = inWindow.filter((x) => x.status !== limited);
  // The limiter decides on arrival, somewhere between a request's send and its answer: when the
  // loaded machine holds the last ones back, they were admitted over a longer time than the 3 s in
  // which they were sent (a stall of 200 ms reads as 106.7/s against a limit of 100).
  const end = Math.max(to, ...admitted.map((x) => x.at));
  return admitted.length / ((end - from) / 1000);
}

/**
 * The same admitted requests per second of the window's time while load was offered: stretches of over
 * 50 ms in which nothing was sent (the generator or the machine stalled, as happens on 2 loaded cores,
 * or every connection was busy) are left out, since a limiter can't admit what never arrived. The
 * bound for "admits the whole limit".
 */
export function offeredRate(o: Outcome[], limited = 429): number {
  const { inWindow, from, to } = saturated(o, limited);
  const times = [from, ...inWindow.map((x) => x.sent).sort((a, b) => a - b), to];
  let idle = 0;
  for (let i = 1; i < times.length; i++) idle += Math.max(0, times[i]! - times[i - 1]! - 50);
  return inWindow.filter((x) => x.status !== limited).length / ((to - from - idle) / 1000);
}

/**
 * For a limiter that counts in fixed windows (rate-limiter-flexible in Redis: a window opens with the
 * first request after the last one expired), the requests admitted per window. Under saturation they
 * come in bursts, one per window, sent within its first moments and apart by most of a window, so a
 * span of sending time sees a varying share of its edge windows' bursts (106-109/s over 3 s in loaded
 * CI runs while each window held 100). Bursts are split at gaps over `gapMs`; the first and the last
 * (cut by the start and the end of the load) are left out.
 */
export function perWindow(o: Outcome[], limited = 429, gapMs = 300): { mean: number; whole: number[] } {
  const sent = o.filter((x) => x.status !== limited && x.status !== 0).map((x) => x.sent).sort((a, b) => a - b);
  const bursts: number[] = [];
  let n = 0;
  let last = -Infinity;
  for (const t of sent) {
    if (n > 0 && t - last > gapMs) {
      bursts.push(n);
      n = 0;
    }
    n++;
    last = t;
  }
  if (n > 0) bursts.push(n);
  const whole = bursts.slice(1, -1);
  return { mean: whole.reduce((s, x) => s + x, 0) / whole.length, whole };
}
