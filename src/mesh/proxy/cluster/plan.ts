// What a call runs under, resolved once per route: the route's retries (or else a Resiliency retry
// policy), the per-attempt timeout (the route's perTryTimeout and a Resiliency timeout, whichever is
// shorter: daprd applies its timeout to each attempt), and the circuit breaker. Resiliency refs come
// from the route first, then the cluster; the breaker is the cluster's own instance of the named
// template (src/core/resiliency/breaker.ts), shared by every route that names it.
import { type CircuitBreakerPolicy, CircuitState } from 'cockatiel';
import type { Logger } from 'pino';
import { newBreaker } from '../../../core/resiliency/breaker';
import type { ClusterConfig, ResiliencyRefConfig, RetryConfig } from '../config';
import { namedRetry, type RetryPlan, routeRetry, unknownRetryOn } from './retry';
import type { CallPolicy, PolicyLookup } from './types';

export interface Plan {
  retry?: RetryPlan;
  /** 0: none. */
  perTryMs: number;
  breaker?: CircuitBreakerPolicy;
}

/** Refs that name no loaded policy, and unknown retryOn names: for errors at load time. */
export function checkRefs(policies: PolicyLookup, ref?: ResiliencyRefConfig, retries?: RetryConfig): string[] {
  const problems: string[] = [];
  if (ref?.timeout !== undefined && !policies.timeouts.has(ref.timeout)) problems.push(`no timeout policy named "${ref.timeout}"`);
  if (ref?.retry !== undefined && !policies.retries.has(ref.retry)) problems.push(`no retry policy named "${ref.retry}"`);
  if (ref?.circuitBreaker !== undefined && !policies.circuitBreakers.has(ref.circuitBreaker)) problems.push(`no circuit breaker policy named "${ref.circuitBreaker}"`);
  const unknown = retries ? unknownRetryOn(retries) : [];
  if (unknown.length > 0) problems.push(`unknown retryOn ${unknown.map((n) => JSON.stringify(n)).join(', ')}`);
  return problems;
}

const shorter = (a: number | undefined, b: number | undefined): number => {
  const x = a && a > 0 ? a : Infinity;
  const y = b && b > 0 ? b : Infinity;
  const m = Math.min(x, y);
  return m === Infinity ? 0 : m;
};

interface Cached {
  retries?: RetryConfig;
  resiliency?: ResiliencyRefConfig;
  plan: Plan;
}

export class Plans {
  /** The plan of a call that brings no retries or refs of its own. */
  readonly base: Plan;
  private readonly breakers = new Map<string, CircuitBreakerPolicy>();
  private readonly cache = new WeakMap<object, Cached>();

  constructor(
    private readonly cluster: ClusterConfig,
    private readonly policies: PolicyLookup,
    private readonly log: Logger,
  ) {
    const problems = checkRefs(policies, cluster.resiliency);
    if (problems.length > 0) throw new Error(`cluster ${cluster.name}: resiliency: ${problems.join('; ')}`);
    this.base = this.build(undefined, undefined);
  }

  for(policy: CallPolicy): Plan {
    const { retries, resiliency } = policy;
    if (retries === undefined && resiliency === undefined) return this.base;
    // Routes hand in the same objects on every request: one WeakMap lookup per call.
    const key: object = retries ?? resiliency!;
    const hit = this.cache.get(key);
    if (hit && hit.retries === retries && hit.resiliency === resiliency) return hit.plan;
    const plan = this.build(retries, resiliency);
    this.cache.set(key, { retries, resiliency, plan });
    return plan;
  }

  /** Any breaker not closed (open, or half-open and testing). */
  breakerOpen(): boolean {
    for (const b of this.breakers.values()) if (b.state !== CircuitState.Closed) return true;
    return false;
  }

  private build(retries: RetryConfig | undefined, ref: ResiliencyRefConfig | undefined): Plan {
    const problems = checkRefs(this.policies, ref, retries);
    if (problems.length > 0) this.log.warn(`cluster ${this.cluster.name}: a route's policies are ignored in part: ${problems.join('; ')}`);
    const own = this.cluster.resiliency;
    const timeoutName = ref?.timeout ?? own?.timeout;
    const retryName = ref?.retry ?? own?.retry;
    const breakerName = ref?.circuitBreaker ?? own?.circuitBreaker;
    const named = retryName !== undefined ? this.policies.retries.get(retryName) : undefined;
    const timeoutMs = timeoutName !== undefined ? this.policies.timeouts.get(timeoutName) : undefined;
    return {
      retry: retries ? routeRetry(retries) : named ? namedRetry(named) : undefined,
      perTryMs: shorter(retries?.perTryTimeout, timeoutMs),
      breaker: breakerName !== undefined ? this.breaker(breakerName) : undefined,
    };
  }

  private breaker(name: string): CircuitBreakerPolicy | undefined {
    let b = this.breakers.get(name);
    if (!b) {
      const spec = this.policies.circuitBreakers.get(name);
      if (!spec) return undefined;
      b = newBreaker(spec);
      this.breakers.set(name, b);
    }
    return b;
  }
}
