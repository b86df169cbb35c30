// The whole xDS state (every accepted or candidate Listener, RouteConfiguration, Cluster and
// ClusterLoadAssignment) → one MeshProxy resource named "xds". Pure: the ADS client calls it with
// the state a response would make, applies the result with MeshProxy.update, and NACKs on an
// XdsRejection, a schema error or the proxy's ProxyConfigError. Also says which RDS and EDS names
// the listeners and clusters need, so the client can subscribe to them.
import { type ClusterOut, translateCluster } from './cluster';
import type { Pb, Warn } from './common';
import { translateEndpoints } from './endpoint';
import { translateListener } from './listener';

export interface XdsState {
  listeners: ReadonlyMap<string, Pb>;
  routes: ReadonlyMap<string, Pb>;
  clusters: ReadonlyMap<string, Pb>;
  endpoints: ReadonlyMap<string, Pb>;
}

export interface Translation {
  /** The MeshProxy resource's spec (before schema parsing). */
  spec: { listeners: Record<string, unknown>[]; clusters: Record<string, unknown>[] };
  /** RouteConfiguration names the listeners take from RDS. */
  rdsNames: string[];
  /** ClusterLoadAssignment names the EDS clusters take. */
  edsNames: string[];
  /** Listeners not applied yet: their RDS route configuration has not arrived. */
  warming: string[];
}

export const XDS_MANIFEST_NAME = 'xds';

export function translate(state: XdsState, warn: Warn): Translation {
  const clusters: Record<string, unknown>[] = [];
  const edsNames = new Set<string>();
  const known = new Set<string>();
  for (const c of state.clusters.values()) {
    const out: ClusterOut | undefined = translateCluster(c, `cluster ${c.name}`, warn);
    if (!out) continue;
    known.add(c.name);
    if (out.edsName !== undefined) {
      edsNames.add(out.edsName);
      const cla = state.endpoints.get(out.edsName);
      if (cla) out.spec.endpoints = translateEndpoints(cla, `cluster load assignment ${out.edsName}`, warn);
    }
    clusters.push(out.spec);
  }
  const listeners: Record<string, unknown>[] = [];
  const rdsNames = new Set<string>();
  const warming: string[] = [];
  for (const l of state.listeners.values()) {
    const out = translateListener(l, state.routes, warn);
    if (out.rdsName !== undefined) rdsNames.add(out.rdsName);
    if (!out.spec) {
      warming.push(l.name);
      continue;
    }
    for (const name of clustersOf(out.spec)) {
      if (known.has(name)) continue;
      // Envoy answers 503 for a cluster it does not have (CDS may come later): an empty cluster does the same.
      warn(`listener ${l.name}: cluster ${name} is ${state.clusters.has(name) ? 'not supported' : 'unknown'}: requests to it answer 503`);
      known.add(name);
      clusters.push({ name, discovery: 'eds', endpoints: [] });
    }
    listeners.push(out.spec);
  }
  return { spec: { listeners, clusters }, rdsNames: [...rdsNames], edsNames: [...edsNames], warming };
}

function clustersOf(l: Record<string, unknown>): string[] {
  if (typeof l.cluster === 'string') return [l.cluster];
  return ((l.routes ?? []) as { cluster?: string; weightedClusters?: { name: string }[] }[]).flatMap((r) => (r.cluster !== undefined ? [r.cluster] : (r.weightedClusters ?? []).map((w) => w.name)));
}

export { XdsRejection } from './common';
