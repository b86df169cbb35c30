// A Resiliency resource after validation: durations in milliseconds, trip expressions compiled,
// status-code ranges parsed. src/config/resiliency.ts builds it; the provider runs it.

/** gobreaker's counters, as a trip expression sees them. */
export interface Counts {
  requests: number;
  totalSuccesses: number;
  totalFailures: number;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
}

/** Inclusive status code range. */
export type CodeRange = readonly [number, number];

export interface RetrySpec {
  name: string;
  policy: 'constant' | 'exponential';
  /** Constant interval. */
  durationMs: number;
  /** Exponential cap. */
  maxIntervalMs: number;
  /** Retries after the first attempt; -1 retries for ever. */
  maxRetries: number;
  /** Status codes worth retrying (undefined: every code of that protocol). */
  matching: { http?: CodeRange[]; grpc?: CodeRange[] };
  /** Only errors this accepts are retried (the built-in service retries); default every error. */
  retryable?: (error: unknown) => boolean;
}

export interface BreakerSpec {
  name: string;
  /** Calls let through while half-open (daprd's maxRequests; cockatiel tests with one). */
  maxRequests: number;
  /** Closed-state period after which the counters start over; 0 never. */
  intervalMs: number;
  /** How long the breaker stays open before a test call. */
  timeoutMs: number;
  /** The trip expression as written, and either its `consecutiveFailures > N` threshold or its evaluator. */
  trip: string;
  consecutiveFailuresAbove?: number;
  evaluate: (counts: Counts) => boolean;
}

export interface PolicyNames {
  timeout?: string;
  retry?: string;
  circuitBreaker?: string;
}

export interface AppTarget extends PolicyNames {
  circuitBreakerCacheSize: number;
}

export interface ResiliencySpec {
  timeouts: Map<string, number>;
  retries: Map<string, RetrySpec>;
  circuitBreakers: Map<string, BreakerSpec>;
  apps: Map<string, AppTarget>;
  components: Map<string, { inbound: PolicyNames; outbound: PolicyNames }>;
}

export const DEFAULT_ENDPOINT_CACHE_SIZE = 100;
export const BUILT_IN_SERVICE_RETRIES = 'DaprBuiltInServiceRetries';

export const emptySpec = (): ResiliencySpec => ({ timeouts: new Map(), retries: new Map(), circuitBreakers: new Map(), apps: new Map(), components: new Map() });
