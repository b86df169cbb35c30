// Minimal cluster (first cut, fleshed out in following commits): round-robin pick, one attempt.
import type { Cluster, ClusterFactory, ClusterSnapshot, Endpoint } from './types';
import { NoHealthyUpstreamError, UpstreamTimeoutError } from './types';

export const createCluster: ClusterFactory = (config) => {
  const endpoints: Endpoint[] = config.endpoints.map((e) => ({ host: e.host, port: e.port, address: `${e.host}:${e.port}`, weight: e.weight, active: 0 }));
  let next = 0;
  const pick = (exclude?: ReadonlySet<Endpoint>): Endpoint | undefined => {
    for (let i = 0; i < endpoints.length; i++) {
      const ep = endpoints[(next + i) % endpoints.length]!;
      if (exclude?.has(ep)) continue;
      next = (next + i + 1) % endpoints.length;
      return ep;
    }
    return undefined;
  };
  const cluster: Cluster = {
    name: config.name,
    config,
    pick,
    async call(attempt, policy) {
      const ep = pick();
      if (!ep) throw new NoHealthyUpstreamError(config.name);
      const ac = new AbortController();
      const onAbort = () => ac.abort();
      policy.signal?.addEventListener('abort', onAbort, { once: true });
      const timer = policy.timeoutMs > 0 ? setTimeout(() => ac.abort(new UpstreamTimeoutError(policy.timeoutMs)), policy.timeoutMs) : undefined;
      ep.active++;
      try {
        const r = await attempt(ep, ac.signal);
        return r.value;
      } catch (e) {
        if (ac.signal.reason instanceof UpstreamTimeoutError) throw ac.signal.reason;
        throw e;
      } finally {
        ep.active--;
        if (timer) clearTimeout(timer);
        policy.signal?.removeEventListener('abort', onAbort);
      }
    },
    snapshot(): ClusterSnapshot {
      return {
        name: config.name,
        lbPolicy: config.lbPolicy,
        appId: config.appId,
        endpoints: endpoints.map((e) => ({ address: e.address, weight: e.weight, health: 'unchecked', active: e.active, requests: 0, failures: 0 })),
        stats: { requests: 0, active: endpoints.reduce((n, e) => n + e.active, 0), retries: 0, timeouts: 0, ejections: 0, noHealthy: 0, breakerOpen: false },
      };
    },
    close() {},
  };
  return cluster;
};
