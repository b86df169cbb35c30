// Counting windows: at most `limit` requests per `windowMs`. The fixed window resets at each
// boundary (what Redis counters with a TTL do); the sliding one counts in buckets (a tenth of the
// window each) and drops the oldest as time moves, as Sentinel's leap array does.
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
  private readonly counts: number[];
  private readonly bucketMs: number;
  /** Absolute number of the bucket `now` fell in last; its slot is bucket % counts.length. */
  private bucket = 0;
  private sum = 0;

  constructor(limit: number, windowMs: number, now: number, buckets = 10) {
    super(limit, windowMs, now);
    this.counts = new Array<number>(buckets).fill(0);
    this.bucketMs = windowMs / buckets;
  }

  take(now: number): boolean {
    this.advance(now);
    if (this.sum + 1 > this.limit) return false;
    this.counts[this.bucket % this.counts.length]!++;
    this.sum++;
    return true;
  }

  override idle(now: number): boolean {
    this.advance(now);
    return this.sum === 0;
  }

  /** Empties the buckets that slid out of the window since the last call. */
  private advance(now: number): void {
    const target = Math.floor((now - this.start) / this.bucketMs);
    if (target <= this.bucket) return;
    const n = this.counts.length;
    for (let b = Math.max(this.bucket + 1, target - n + 1); b <= target; b++) {
      this.sum -= this.counts[b % n]!;
      this.counts[b % n] = 0;
    }
    this.bucket = target;
  }
}
