// Metrics for one sidecar, built from the flags and Configuration spec.metrics: the registry, the
// filter the servers run, the component recorder for the processor, and the scrape endpoint.
import type { Server } from 'node:http';
import type { MetricsConfig } from '../../config/observability';
import { metricsFilter } from '../../mesh/filters/metrics';
import type { Filter } from '../../mesh/filter';
import type { Invoker } from '../../core/invoke/types';
import type { AclObserver } from '../../core/invoke/acl';
import { aclObserver } from './acl';
import { type ComponentMetrics, NO_COMPONENT_METRICS, PrometheusComponentMetrics } from './components';
import { countAppCalls, countReceived, countSent } from './invocation';
import { HttpLabeler } from './path-label';
import { MetricsRegistry } from './registry';
import { serveMetrics } from './server';

export type { ComponentMetrics } from './components';
export { NO_COMPONENT_METRICS } from './components';

export interface SidecarMetrics {
  registry?: MetricsRegistry;
  filter?: Filter;
  components: ComponentMetrics;
  /** Wraps the invoker for calls to another app (a no-op when off). */
  sent(invoker: Invoker, dstAppId: string): Invoker;
  received(invoker: Invoker): Invoker;
  /** Wraps the app channel's invocations (daprd's HTTP/gRPC client families). */
  toApp(invoker: Invoker, grpcApp: boolean): Invoker;
  /** Counts access control decisions (undefined when off). */
  acl?: AclObserver;
  /** Starts the scrape endpoint (nothing when off). */
  listen(host: string, port: number): Promise<Server | undefined>;
}

const OFF: SidecarMetrics = { components: NO_COMPONENT_METRICS, sent: (i) => i, received: (i) => i, toApp: (i) => i, listen: async () => undefined };

/** --enable-metrics=false or spec.metrics.enabled: false turn everything off (no port either). */
export function createMetrics(o: { enabled: boolean; appId: string; namespace: string; config?: MetricsConfig }): SidecarMetrics {
  if (!o.enabled || o.config?.enabled === false) return OFF;
  const http = o.config?.http;
  const labeler = new HttpLabeler({ increasedCardinality: http?.increasedCardinality ?? true, pathMatching: http?.pathMatching ?? [], excludeVerbs: http?.excludeVerbs ?? false });
  const registry = new MetricsRegistry({
    appId: o.appId,
    namespace: o.namespace,
    latencyBuckets: o.config?.latencyDistributionBuckets ?? undefined,
    httpPathLabel: labeler.hasPath,
    recordErrorCodes: o.config?.recordErrorCodes ?? false,
  });
  return {
    registry,
    filter: metricsFilter(registry, labeler),
    components: new PrometheusComponentMetrics(registry),
    sent: (invoker, dst) => countSent(registry, invoker, dst),
    received: (invoker) => countReceived(registry, invoker),
    toApp: (invoker, grpcApp) => countAppCalls(registry, invoker, grpcApp),
    acl: aclObserver(registry),
    listen: (host, port) => serveMetrics(registry.registry, host, port),
  };
}
