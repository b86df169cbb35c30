// When a failed attempt is worth another: the route's retries in Envoy's terms (retry_on names,
// jittered exponential backoff) or a Resiliency retry policy in daprd's (matching status codes,
// constant or exponential backoff). Both compile once to a RetryPlan the call loop consults.
import type { IBackoff, IBackoffFactory } from 'cockatiel';
import { backoffOf } from '../../../core/resiliency/backoff';
import type { RetrySpec } from '../../../core/resiliency/spec';
import type { RetryConfig } from '../config';
import { classifyStatus } from './outcome';
import type { FailureKind } from './types';

export interface RetryPlan {
  /** Retries after the first attempt; Infinity retries until the deadline or the downstream ends it. */
  attempts: number;
  onError(kind: FailureKind): boolean;
  onAnswer(status: number, protocol: 'http' | 'grpc'): boolean;
  backoff: IBackoffFactory<unknown>;
}

/** retryOn names (Envoy's x-envoy-retry-on and x-envoy-retry-grpc-on), as bits. */
const ON = {
  '5xx': 1,
  'gateway-error': 2,
  'connect-failure': 4,
  reset: 8,
  'retriable-status': 16,
  'retriable-status-codes': 16,
  'retriable-4xx': 32,
  cancelled: 64,
  'deadline-exceeded': 128,
  internal: 256,
  'resource-exhausted': 512,
  unavailable: 1024,
} as const;

export const RETRY_ON = Object.keys(ON) as (keyof typeof ON)[];

/** gRPC status codes by retryOn bit. */
const GRPC_ON: ReadonlyArray<readonly [number, number]> = [
  [ON.cancelled, 1],
  [ON['deadline-exceeded'], 4],
  [ON['resource-exhausted'], 8],
  [ON.internal, 13],
  [ON.unavailable, 14],
];

/** Names retryOn does not know, for the loader's error message. */
export const unknownRetryOn = (r: RetryConfig): string[] => r.retryOn.filter((n) => !(n in ON));

/**
 * Envoy's fully jittered exponential backoff: retry k waits a random time below
 * base × (2^k − 1), capped at 10 × base (25 ms base: under 25, 75, 175, 250 ms).
 */
class JitteredBackoff implements IBackoff<unknown> {
  readonly duration: number;
  constructor(
    private readonly base: number,
    private readonly k = 1,
  ) {
    this.duration = Math.floor(Math.random() * Math.min(base * (2 ** k - 1), 10 * base));
  }
  next(): IBackoff<unknown> {
    return new JitteredBackoff(this.base, this.k + 1);
  }
}

export function routeRetry(r: RetryConfig): RetryPlan {
  let on = 0;
  for (const name of r.retryOn) on |= ON[name as keyof typeof ON] ?? 0;
  // Listing statuses asks for them to be retried even without 'retriable-status'.
  if (r.statuses.length > 0) on |= ON['retriable-status'];
  const statuses = new Set(r.statuses);
  const anyError = (on & (ON['5xx'] | ON['gateway-error'])) !== 0;
  const grpcCodes = new Set(GRPC_ON.filter(([bit]) => on & bit).map(([, code]) => code));
  const base = r.backoff;
  return {
    attempts: r.attempts,
    onError: (kind) => anyError || (kind === 'connect-failure' ? (on & ON['connect-failure']) !== 0 : (on & ON.reset) !== 0),
    onAnswer(status, protocol) {
      if (protocol === 'grpc') return grpcCodes.has(status);
      if (status >= 500 && on & ON['5xx']) return true;
      if ((status === 502 || status === 503 || status === 504) && on & ON['gateway-error']) return true;
      if (status === 409 && on & ON['retriable-4xx']) return true;
      return statuses.has(status);
    },
    backoff: { next: () => (base > 0 ? new JitteredBackoff(base) : NO_WAIT) },
  };
}

const NO_WAIT: IBackoff<unknown> = { duration: 0, next: () => NO_WAIT };

/**
 * A Resiliency retry policy: every failure to answer is retried; an answer is when its status is in
 * `matching` for its protocol, or, without `matching`, when it is a server failure (5xx, or a gRPC
 * code that maps to one): the proxy does not replay client errors unless told to.
 */
export function namedRetry(spec: RetrySpec): RetryPlan {
  return {
    attempts: spec.maxRetries < 0 ? Infinity : spec.maxRetries,
    onError: () => true,
    onAnswer(status, protocol) {
      const ranges = protocol === 'grpc' ? spec.matching.grpc : spec.matching.http;
      if (!ranges) return classifyStatus(status, protocol) !== 'ok';
      const failed = protocol === 'grpc' ? status !== 0 : status < 200 || status > 399;
      return failed && ranges.some(([lo, hi]) => status >= lo && status <= hi);
    },
    backoff: backoffOf(spec),
  };
}
