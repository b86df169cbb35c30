// One admission state per key (client, path, method...), created on first use and dropped once
// idle, so a stream of distinct clients cannot grow memory without bound.
import { type Admission, type Clock, monotonicClock, type RateLimiter } from './limiter';

export interface KeyedOptions {
  clock?: Clock;
  /** How often idle keys are looked for, in ms of the clock. */
  sweepMs?: number;
  /** Hard cap on live keys; past it, the oldest key is forgotten (admitting it afresh later). */
  maxKeys?: number;
  /**
   * Oldest = least recently used rather than first created: a key in use survives a flood of new
   * ones (at the cost of moving it to the end of the map on every request).
   */
  lru?: boolean;
}

export class KeyedLimiter implements RateLimiter {
  private readonly states = new Map<string, Admission>();
  private readonly clock: Clock;
  private readonly sweepMs: number;
  private readonly maxKeys: number;
  private readonly lru: boolean;
  private lastSweep: number;

  constructor(
    private readonly create: (now: number) => Admission,
    opts: KeyedOptions = {},
  ) {
    this.clock = opts.clock ?? monotonicClock;
    this.sweepMs = opts.sweepMs ?? 10_000;
    this.maxKeys = opts.maxKeys ?? 100_000;
    this.lru = opts.lru ?? false;
    this.lastSweep = this.clock();
  }

  take(key: string): boolean {
    const now = this.clock();
    if (now - this.lastSweep >= this.sweepMs) this.sweep(now);
    let s = this.states.get(key);
    if (!s) {
      if (this.states.size >= this.maxKeys) this.states.delete(this.states.keys().next().value!);
      this.states.set(key, (s = this.create(now)));
    } else if (this.lru) {
      this.states.delete(key);
      this.states.set(key, s);
    }
    return s.take(now);
  }

  /** Live keys (for tests and diagnostics). */
  get size(): number {
    return this.states.size;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [k, s] of this.states) if (s.idle(now)) this.states.delete(k);
  }
}
