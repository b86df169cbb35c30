// The mesh proxy (issue 8): listeners, routes and clusters from MeshProxy resources. The wiring
// (src/runtime/mesh-proxy.ts) loads the resources and calls startMeshProxy after the components;
// a test or a bench can call it directly with parsed manifests.
import { type MeshProxyDeps, MeshProxyManager } from './manager';
import type { MeshProxyManifest } from './config';
import type { ProxySnapshot } from './snapshot';

export interface MeshProxy {
  /** Bound port per listener name (a port of 0 in the manifest gets one from the OS). */
  readonly ports: Record<string, number>;
  snapshot(): ProxySnapshot;
  /**
   * Applies a new set of resources in place (hot reload, xDS): clusters and routes swap for new
   * requests while requests and tunnels in flight finish on what they started with; listeners
   * are added, removed or rebound as the resources say. Rejects with a ProxyConfigError and keeps
   * the running config when the new one is wrong.
   */
  update(resources: readonly MeshProxyManifest[]): Promise<void>;
  /** Stops accepting, gives in-flight requests and tunnels graceMs, then releases everything. */
  stop(graceMs: number): Promise<void>;
}

/**
 * Builds and starts the proxy. Rejects with a ProxyConfigError (resource index + field path) when
 * a resource is wrong or a listener cannot bind; nothing is left running then.
 */
export async function startMeshProxy(resources: readonly MeshProxyManifest[], deps: MeshProxyDeps): Promise<MeshProxy> {
  const manager = new MeshProxyManager(deps);
  await manager.start(resources);
  let stopping: Promise<void> | undefined;
  return {
    get ports() {
      return manager.ports();
    },
    snapshot: () => manager.snapshot(),
    update: (next) => (stopping ? Promise.reject(new Error('mesh proxy: stopped')) : manager.update(next)),
    stop: (graceMs) => (stopping ??= manager.stop(graceMs)),
  };
}

export { meshProxySchema, type MeshProxyManifest } from './config';
export { ProxyConfigError } from './errors';
export type { MeshProxyDeps } from './manager';
export type { AppInvoke } from './app-cluster';
export type { ProxySnapshot } from './snapshot';
