// The proxy's upstream side as the forwarders see it (Envoy's cluster manager, reduced): a cluster
// picks an endpoint by its balancing policy among the healthy, non-ejected ones, keeps per-endpoint
// counters for least-request and outlier detection, and runs one downstream request as attempts
// under the route's retries and timeout and the cluster's Resiliency policies. The forwarders own
// the bytes (pools, HTTP/1.1, h2c, TCP); the cluster owns choice, health and policy.
import type { ClusterConfig, RetryConfig, ResiliencyRefConfig } from '../config';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  /** "host:port", the key in snapshots and metrics. */
  readonly address: string;
  readonly weight: number;
  /** Requests in flight now (least-request reads it). */
  active: number;
}

/** How an attempt ended without a response: no connection, the connection died, or it was too slow. */
export type FailureKind = 'connect-failure' | 'reset' | 'timeout';

export class UpstreamError extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

/** Errors the forwarders turn into local replies (Envoy's wording). */
export class NoHealthyUpstreamError extends Error {
  readonly status = 503;
  constructor(cluster: string) {
    super(`no healthy upstream in cluster ${cluster}`);
    this.name = 'NoHealthyUpstreamError';
  }
}
export class UpstreamTimeoutError extends Error {
  readonly status = 504;
  constructor(ms: number) {
    super(`upstream request timeout after ${ms}ms`);
    this.name = 'UpstreamTimeoutError';
  }
}
export class UpstreamOpenCircuitError extends Error {
  readonly status = 503;
  constructor(cluster: string) {
    super(`circuit breaker open for cluster ${cluster}`);
    this.name = 'UpstreamOpenCircuitError';
  }
}

/** One attempt's answer. `discard` is called when the cluster retries instead of returning it. */
export interface AttemptResult<T> {
  /** HTTP status, or for gRPC (protocol 'grpc') the grpc-status when it is known from the headers. */
  status: number;
  protocol: 'http' | 'grpc';
  value: T;
  discard(): void;
}

/** The route's part of the policy; the cluster adds its own Resiliency refs (a breaker per cluster). */
export interface CallPolicy {
  /** Whole-request deadline, retries included; 0 = none. */
  timeoutMs: number;
  retries?: RetryConfig;
  resiliency?: ResiliencyRefConfig;
  /** False when the request body cannot be sent twice (streamed, not buffered): no retries after the first byte went out. */
  replayable: boolean;
  /** Fires when the downstream goes away: stop everything. */
  signal?: AbortSignal;
}

export interface Cluster {
  readonly name: string;
  readonly config: ClusterConfig;
  /** One endpoint by the balancing policy, skipping unhealthy and ejected ones (and `exclude`); undefined when none. */
  pick(exclude?: ReadonlySet<Endpoint>): Endpoint | undefined;
  /**
   * Runs one downstream request: picks, calls `attempt`, counts the outcome (active, outlier
   * detection, breaker), retries as the policy says on another endpoint when there is one.
   * Rejects with UpstreamError / NoHealthyUpstreamError / UpstreamTimeoutError / UpstreamOpenCircuitError.
   * `signal` fires on the deadline, a per-try timeout or policy.signal; the attempt must then settle
   * soon (rejecting). It is a light AbortSignal (same fields and 'abort' events; node:http, http2,
   * net and undici take it): AbortSignal.any and fetch want toAbortSignal(signal) from core/call-signal.
   */
  call<T>(attempt: (ep: Endpoint, signal: AbortSignal) => Promise<AttemptResult<T>>, policy: CallPolicy): Promise<T>;
  /**
   * call() with callbacks and no promise, when the policy needs no retry loop (see runCallDirect);
   * false: nothing was done, use call().
   */
  callDirect?<T>(
    attempt: (ep: Endpoint, signal: AbortSignal, ok: (r: AttemptResult<T>) => void, fail: (e: unknown) => void) => void,
    policy: CallPolicy,
    done: (e: unknown, v?: T) => void,
  ): boolean;
  snapshot(): ClusterSnapshot;
  /** EDS: takes the endpoints of `config` (the same configuration but for its endpoints) in place, keeping the state of the endpoints that stay. */
  setEndpoints?(config: ClusterConfig): void;
  /** Stops health checks and timers. */
  close(): void;
}

export interface EndpointSnapshot {
  address: string;
  weight: number;
  /** Active health check verdict; 'unchecked' without a health check. */
  health: 'healthy' | 'unhealthy' | 'unchecked';
  /** Ejected by outlier detection until this ISO time. */
  ejectedUntil?: string;
  active: number;
  requests: number;
  failures: number;
}

export interface ClusterSnapshot {
  name: string;
  lbPolicy: ClusterConfig['lbPolicy'];
  appId?: string;
  endpoints: EndpointSnapshot[];
  stats: { requests: number; active: number; retries: number; timeouts: number; ejections: number; noHealthy: number; breakerOpen: boolean; overflows?: number };
  /** Every endpoint is unhealthy or ejected: calls answer NoHealthyUpstreamError (where Envoy would panic-route). */
  noHealthyEndpoints?: boolean;
}

/** Named policies of the loaded Resiliency resources, for ResiliencyRefConfig (spec.policies). */
export interface PolicyLookup {
  timeouts: ReadonlyMap<string, number>;
  retries: ReadonlyMap<string, import('../../../core/resiliency/spec').RetrySpec>;
  circuitBreakers: ReadonlyMap<string, import('../../../core/resiliency/spec').BreakerSpec>;
}

export interface ClusterDeps {
  policies: PolicyLookup;
  log: import('pino').Logger;
}

/** Builds a cluster with endpoints (appId clusters are the forwarders' business: service invocation). */
export type ClusterFactory = (config: ClusterConfig, deps: ClusterDeps) => Cluster;
