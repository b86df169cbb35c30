// Counting windows: at most `limit` requests per `windowMs`. The fixed window resets at each
// boundary (what Redis counters with a TTL do); the sliding one weighs the previous window by how
// much of it still overlaps (the usual sliding-window-counter estimate, close to Sentinel's
// bucketed statistics without keeping a bucket array per key).
import type { Admission } from './limiter';

abstract class Window implements Admission {
  protected start: number;
  protected count = 0;

  constructor(
    protected readonly limit: number,
    protected readonly windowMs: number,
    now: number,
  ) {
    if (!(limit >= 0) || !Number.isFinite(limit)) throw new RangeError(`limit must be a non-negative number, got ${limit}`);
    if (!(windowMs > 0) || !Number.isFinite(windowMs)) throw new RangeError(`window must be a positive duration, got ${windowMs} ms`);
    this.start = now;
  }

  abstract take(now: number): boolean;

  idle(now: number): boolean {
    return now - this.start >= 2 * this.windowMs;
  }
}

export class FixedWindow extends Window {
  take(now: number): boolean {
    if (now - this.start >= this.windowMs) {
      this.start += Math.floor((now - this.start) / this.windowMs) * this.windowMs;
      this.count = 0;
    }
    if (this.count >= this.limit) return false;
    this.count++;
    return true;
  }
}

export class SlidingWindow extends Window {
  private previous = 0;

  take(now: number): boolean {
    const elapsed = now - this.start;
    if (elapsed >= this.windowMs) {
      const windows = Math.floor(elapsed / this.windowMs);
      this.previous = windows === 1 ? this.count : 0;
      this.count = 0;
      this.start += windows * this.windowMs;
    }
    const overlap = 1 - (now - this.start) / this.windowMs;
    if (this.previous * overlap + this.count + 1 > this.limit) return false;
    this.count++;
    return true;
  }
}
