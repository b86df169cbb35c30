// daprd's retry intervals as cockatiel backoffs. Exponential is cenkalti/backoff's as dapr/kit
// configures it: 500 ms start, ×1.5 per retry, each wait randomised ±50 %, capped at maxInterval.
import { ConstantBackoff, ExponentialBackoff, type IBackoffFactory } from 'cockatiel';
import type { RetrySpec } from './spec';

const INITIAL_INTERVAL_MS = 500;
const MULTIPLIER = 1.5;
const RANDOMIZATION = 0.5;

export function backoffOf(r: RetrySpec): IBackoffFactory<unknown> {
  if (r.policy === 'constant') return new ConstantBackoff(r.durationMs);
  return new ExponentialBackoff<number>({
    initialDelay: INITIAL_INTERVAL_MS,
    maxDelay: r.maxIntervalMs,
    exponent: MULTIPLIER,
    generator: (current, o) => {
      const interval = Math.min(current ?? o.initialDelay, o.maxDelay);
      const jittered = interval * (1 - RANDOMIZATION + Math.random() * 2 * RANDOMIZATION);
      return [Math.min(jittered, o.maxDelay), Math.min(interval * o.exponent, o.maxDelay)];
    },
  });
}
