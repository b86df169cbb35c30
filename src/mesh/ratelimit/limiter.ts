// The contract every rate limiter here meets, local or shared: one admission decision per call,
// per key. Local limiters answer synchronously; shared ones (Redis) need a round trip.

/** Milliseconds on a monotonic clock; injected so tests can step time. */
export type Clock = () => number;

export const monotonicClock: Clock = () => performance.now();

export interface RateLimiter {
  /** Takes one permit for the key; false when the key is over its limit. */
  take(key: string): boolean | Promise<boolean>;
}

/** One limiter's state for one key. */
export interface Admission {
  take(now: number): boolean;
  /** True when forgetting this key changes nothing (a full bucket, an expired window). */
  idle(now: number): boolean;
}
