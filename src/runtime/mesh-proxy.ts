// Wiring for the mesh proxy: the MeshProxy resources that apply to this app (scopes), the named
// Resiliency policies their refs point at, service invocation for appId clusters, and errors as
// file:line like every other resource's.
import type { Logger } from 'pino';
import { compileResiliency } from '../config/resiliency';
import type { Core } from '../core';
import type { InvokeRequest } from '../core/invoke/types';
import { createCluster } from '../mesh/proxy/cluster';
import { type MeshProxy, ProxyConfigError, startMeshProxy } from '../mesh/proxy';
import { filterRegistry } from '../mesh/builtin';
import { withXds, type XdsNode, type XdsProxy } from '../mesh/xds';
import type { Filter } from '../mesh/filter';
import type { SidecarMetrics } from '../observability/metrics';
import { scoped } from '../observability/logger';
import { type LoadedMeshProxy, type LoadedResiliency, ManifestError } from './loader';

export interface MeshProxyWiring {
  appId: string;
  log: Logger;
  core: Core;
  resiliencies: readonly LoadedResiliency[];
  metrics?: SidecarMetrics;
  /** Put first in every listener's filter chain (the dashboard's recorder). */
  observer?: Filter;
}

const scopedTo = (loaded: readonly LoadedMeshProxy[], appId: string) => loaded.filter((m) => m.manifest.scopes.length === 0 || m.manifest.scopes.includes(appId));

/** Starts the proxy when a MeshProxy resource applies to this app (or `always`: xDS fills it); undefined when none does. */
export async function startConfiguredProxy(loaded: readonly LoadedMeshProxy[], ctx: MeshProxyWiring, always = false): Promise<MeshProxy | undefined> {
  const mine = scopedTo(loaded, ctx.appId);
  if (mine.length === 0 && !always) return undefined;
  const log = scoped(ctx.log, 'dapr.runtime.meshproxy');
  const policies = compileResiliency(ctx.resiliencies, ctx.appId);
  try {
    return await startMeshProxy(
      mine.map((m) => m.manifest),
      {
        createCluster,
        policies,
        log,
        filters: { registry: filterRegistry, context: { appId: ctx.appId, log, metrics: ctx.metrics?.registry?.registry } },
        invokeApp: (req, signal) => ctx.core.invoke.invoke(req as InvokeRequest, signal),
        observer: ctx.observer,
      },
    );
  } catch (e) {
    if (!(e instanceof ProxyConfigError)) throw e;
    const m = mine[e.resource] ?? mine[0]!;
    throw new ManifestError(m.file, m.lineOf(e.path), e.path.join('.'), e.message);
  }
}

/**
 * --xds-server: the proxy (started even without MeshProxy resources) with the control plane's
 * resources beside this app's MeshProxy files; its status goes to the metadata API's extended
 * `xds` entry on every change.
 */
export async function startXdsProxy(loaded: readonly LoadedMeshProxy[], ctx: MeshProxyWiring, xds: { server: string; node: XdsNode }): Promise<XdsProxy> {
  const proxy = (await startConfiguredProxy(loaded, ctx, true))!;
  const files = scopedTo(loaded, ctx.appId).map((m) => m.manifest);
  const x = withXds(proxy, files, { server: xds.server, node: xds.node, log: scoped(ctx.log, 'dapr.runtime.xds') });
  const publish = () => ctx.core.metadata.set('xds', JSON.stringify(x.status()));
  x.onChange(publish);
  publish();
  return x;
}
