// The proxy as /v1.0/metadata (meshProxy) and the actuator (/actuator/proxy) show it: listeners with
// their routes and live counters, and every cluster's snapshot (endpoints, health, ejections).
import type { ListenerConfig, RouteMatchConfig } from './config';
import type { ClusterSnapshot } from './cluster/types';
import type { CompiledRoute } from './router';

export interface RouteSnapshot {
  name: string;
  cluster: string;
  weightedClusters?: { name: string; weight: number }[];
  match: Partial<RouteMatchConfig>;
}

export interface ListenerSnapshot {
  name: string;
  /** host:port as bound. */
  address: string;
  protocol: ListenerConfig['protocol'];
  forwardProxy?: boolean;
  /** tcp listeners: where the bytes go. */
  cluster?: string;
  routes: RouteSnapshot[];
  filters: string[];
  stats: Record<string, number>;
}

export interface ProxySnapshot {
  listeners: ListenerSnapshot[];
  clusters: ClusterSnapshot[];
}

/** The route's match without the fields left unset. */
export function routeSnapshot(r: CompiledRoute): RouteSnapshot {
  const match: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r.config.match)) {
    if (v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    match[k] = v;
  }
  return { name: r.name, cluster: r.cluster, match, ...(r.config.weightedClusters && { weightedClusters: r.config.weightedClusters }) };
}

export const hostPort = (host: string, port: number): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);
