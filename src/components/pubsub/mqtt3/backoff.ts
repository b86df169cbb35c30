// How long to wait before handing a failed message to its handler again (dapr kit's retry policy:
// constant or exponential, multiplier 1.5, without the jitter so delays are predictable).
export interface BackOff {
  policy: 'constant' | 'exponential';
  /** Constant policy: the delay between attempts. */
  durationMs: number;
  /** Exponential policy: the first delay, growing 1.5x per retry up to maxMs. */
  initialMs: number;
  maxMs: number;
  /** -1 = unlimited. */
  maxRetries: number;
}

/** The delay before retry number `retry` (1-based), or undefined once the retries are used up. */
export function retryDelay(b: BackOff, retry: number): number | undefined {
  if (b.maxRetries >= 0 && retry > b.maxRetries) return undefined;
  if (b.policy === 'constant') return b.durationMs;
  return Math.min(b.maxMs, b.initialMs * 1.5 ** (retry - 1));
}
