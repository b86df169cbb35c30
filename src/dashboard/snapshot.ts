// What the dashboard shows, gathered from what the sidecar already reports: /v1.0/metadata (app
// id, components with their capabilities, subscriptions, the mesh proxy's snapshot), the actuator's
// readiness probes (component health) and the traffic recorder.
import type { ComponentStore } from '../components/store';
import type { MetadataCore } from '../core/metadata';
import { componentProbes } from '../observability/actuator';
import type { SkippedComponent } from '../observability/actuator/components';
import { CachedProbes } from '../observability/actuator/probes';
import type { TrafficRecorder } from './recorder';
import type { DashboardComponent, DashboardSnapshot, ProxyView, SubscriptionView } from './types';

export interface SnapshotSources {
  metadata: Pick<MetadataCore, 'get'>;
  store: ComponentStore;
  skipped: () => readonly SkippedComponent[];
  recorder: TrafficRecorder;
}

export function snapshotter(src: SnapshotSources): () => Promise<DashboardSnapshot> {
  // The actuator's probe settings: a 1 s ping deadline, one result reused for a second.
  const probes = new CachedProbes(componentProbes(src.store, src.skipped), { timeoutMs: 1000, cacheMs: 1000 });
  return async () => {
    const health = await probes.check();
    const md = src.metadata.get();
    // Capabilities as the metadata API reports them; the kind from the store (metadata has none).
    const components: DashboardComponent[] = src.store
      .list()
      .filter((c) => c.kind !== 'hello')
      .map((c) => {
        const info = md.components.find((m) => m.name === c.name && m.type === c.meta.type);
        const h = health[`${c.kind}-${c.name}`];
        return {
          kind: c.kind,
          name: c.name,
          type: c.meta.type,
          version: info?.version ?? (c.meta.version || 'v1'),
          health: h?.status ?? 'n/a',
          ...(h?.details?.reason ? { reason: String(h.details.reason) } : {}),
          capabilities: info?.capabilities ?? c.capabilities,
        };
      });
    for (const s of src.skipped()) {
      components.push({ kind: s.kind, name: s.name, type: '', version: '', health: 'DOWN', reason: `not loaded: ${s.reason}`, capabilities: [] });
    }
    return {
      time: new Date().toISOString(),
      appId: md.id,
      runtimeVersion: md.runtimeVersion,
      components,
      subscriptions: md.subscriptions as SubscriptionView[],
      proxy: (md.meshProxy as ProxyView | undefined) ?? null,
      ...src.recorder.snapshot(),
    };
  };
}
