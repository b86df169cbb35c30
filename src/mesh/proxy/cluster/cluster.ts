// A cluster of endpoints: the balancer picks among the available ones, active health checks and
// outlier detection take endpoints out and put them back, and call() runs requests under the
// route's and the Resiliency policies (call.ts, plan.ts). Counters are plain fields bumped on the
// request path; snapshot() only reads them.
import type { Logger } from 'pino';
import type { ClusterConfig } from '../config';
import { type Attempt, type CallLimits, type CallStats, type DirectAttempt, runCall, runCallDirect } from './call';
import { formatAddress, type Health, Member } from './endpoint';
import { HealthChecker } from './health-check';
import { type Balancer, createBalancer } from './lb';
import { OutlierDetector } from './outlier';
import { isFailure, type Outcome } from './outcome';
import { Plans } from './plan';
import type { CallPolicy, Cluster, ClusterDeps, ClusterSnapshot, Endpoint, EndpointSnapshot } from './types';

export class ProxyCluster implements Cluster {
  readonly name: string;
  readonly stats: CallStats & { ejections: number } = { requests: 0, retries: 0, timeouts: 0, noHealthy: 0, ejections: 0 };
  readonly plans: Plans;
  readonly limits?: CallLimits;
  private readonly members: Member[];
  private balancer: Balancer;
  private readonly outlier?: OutlierDetector;
  private health?: HealthChecker;
  private readonly log: Logger;

  constructor(
    public config: ClusterConfig,
    deps: ClusterDeps,
  ) {
    this.name = config.name;
    this.log = deps.log;
    this.plans = new Plans(config, deps.policies, deps.log);
    const cb = config.circuitBreakers;
    // Envoy's defaults where one threshold is given without the other.
    if (cb) this.limits = { maxRequests: cb.maxRequests ?? 1024, maxRetries: cb.maxRetries ?? 3, requests: 0, retries: 0, overflows: 0 };
    this.members = config.endpoints.map((e) => new Member(e.host, e.port, e.weight));
    this.balancer = createBalancer(config.lbPolicy, this.members);
    if (config.outlierDetection) {
      this.outlier = new OutlierDetector(config.outlierDetection, this.members, {
        ejected: (m, ms, why) => {
          this.stats.ejections++;
          this.log.warn(`cluster ${this.name}: endpoint ${m.address} ejected for ${ms}ms: ${why}`);
        },
        restored: (m) => this.log.info(`cluster ${this.name}: endpoint ${m.address} back from ejection`),
      });
    }
    this.startHealthChecks();
  }

  /**
   * Replaces the endpoints in place (EDS): an endpoint kept by address keeps its counters, health
   * verdict and ejection; removed ones leave the balancer (requests in flight on them finish);
   * `config` is the cluster's configuration with the new endpoint list and nothing else changed.
   */
  setEndpoints(config: ClusterConfig): void {
    const kept = new Map(this.members.map((m) => [`${m.address}/${m.weight}`, m]));
    const next = config.endpoints.map((e) => {
      const key = `${formatAddress(e.host, e.port)}/${e.weight}`;
      const m = kept.get(key);
      kept.delete(key);
      return m ?? new Member(e.host, e.port, e.weight);
    });
    for (const gone of kept.values()) this.outlier?.forget(gone);
    // In place: the outlier detector reads this same array.
    this.members.splice(0, this.members.length, ...next);
    this.config = config;
    this.balancer = createBalancer(config.lbPolicy, this.members);
    this.health?.close();
    this.health = undefined;
    this.startHealthChecks();
  }

  pick(exclude?: ReadonlySet<Endpoint>): Member | undefined {
    return this.balancer.pick(exclude);
  }

  call<T>(attempt: Attempt<T>, policy: CallPolicy): Promise<T> {
    return runCall(this, attempt, policy);
  }

  callDirect<T>(attempt: DirectAttempt<T>, policy: CallPolicy, done: (e: unknown, v?: T) => void): boolean {
    return runCallDirect(this, attempt, policy, done);
  }

  record(m: Member, o: Outcome): void {
    if (isFailure(o)) m.failures++;
    this.outlier?.record(m, o);
  }

  snapshot(): ClusterSnapshot {
    let active = 0;
    let available = 0;
    const endpoints: EndpointSnapshot[] = this.members.map((m) => {
      active += m.active;
      if (m.available) available++;
      const e: EndpointSnapshot = { address: m.address, weight: m.weight, health: m.health, active: m.active, requests: m.requests, failures: m.failures };
      if (m.ejected) e.ejectedUntil = new Date(m.ejectedUntil).toISOString();
      return e;
    });
    const s = this.stats;
    return {
      name: this.name,
      lbPolicy: this.config.lbPolicy,
      ...(this.config.appId !== undefined && { appId: this.config.appId }),
      endpoints,
      stats: { requests: s.requests, active, retries: s.retries, timeouts: s.timeouts, ejections: s.ejections, noHealthy: s.noHealthy, breakerOpen: this.plans.breakerOpen(), ...(this.limits && { overflows: this.limits.overflows }) },
      // Every endpoint unhealthy or ejected: requests answer "no healthy upstream" (Envoy would panic-route).
      noHealthyEndpoints: this.members.length > 0 && available === 0,
    };
  }

  close(): void {
    this.health?.close();
    this.health = undefined;
    this.outlier?.close();
  }

  private startHealthChecks(): void {
    if (!this.config.healthCheck || this.members.length === 0) return;
    this.health = new HealthChecker(this.config.healthCheck, this.name, this.members, (m, h, why) => this.setHealth(m, h, why));
    this.health.start();
  }

  private setHealth(m: Member, h: Health, why: string): void {
    const was = m.health;
    m.health = h;
    m.refresh();
    if (was === 'unchecked' && h === 'healthy') return; // the expected start, not news
    const line = `cluster ${this.name}: endpoint ${m.address} is ${h}: ${why}`;
    if (h === 'healthy') this.log.info(line);
    else this.log.warn(line);
  }
}
