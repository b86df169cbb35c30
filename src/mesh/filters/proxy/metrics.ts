// proxy.metrics: the proxy's Prometheus families in the sidecar's registry (the metrics port's
// /metrics), labelled by listener, route and cluster as Envoy's per-cluster stats are. Requests
// answered by the proxy itself (a rate limit, an injected abort, no route, no healthy upstream...)
// are counted by reason in layotto_proxy_local_replies_total; its RATE_LIMITED series is the
// rate-limited count. Several listeners' filters share one set of families. It only observes.
import { Counter, Histogram, type Registry } from 'prom-client';
import { z } from 'zod';
import type { Exchange, Filter } from '../../filter';
import { DEFAULT_LATENCY_BUCKETS, MetricsRegistry } from '../../../observability/metrics/registry';
import type { FilterFactory } from '../../registry';
import { clusterOf, inactive, PROXY_APIS, parseSettings, routeOf } from './common';

export const PROXY_METRICS_TYPE = 'proxy.metrics';

const BY_ROUTE = ['listener', 'route', 'cluster'] as const;

/** The family named `name` already in the registry (another listener's), else a new one. */
function family<T extends Counter | Histogram>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/** The proxy's families in a registry, created on first use there. */
export function proxyFamilies(registry: Registry) {
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) => family(registry, name, () => new Counter<L>({ name, help, labelNames, registers }));
  return {
    requests: counter('layotto_proxy_requests_total', 'Requests through the proxy by listener, route, cluster and status (HTTP status; gRPC status code).', [...BY_ROUTE, 'status']),
    duration: family(
      registry,
      'layotto_proxy_request_duration_ms',
      () => new Histogram({ name: 'layotto_proxy_request_duration_ms', help: 'Time from the request reaching the proxy to its answer completing, in milliseconds.', labelNames: BY_ROUTE, buckets: DEFAULT_LATENCY_BUCKETS, registers }),
    ),
    requestBytes: counter('layotto_proxy_request_bytes_total', 'Request body bytes received from clients.', BY_ROUTE),
    responseBytes: counter('layotto_proxy_response_bytes_total', 'Response body bytes sent to clients.', BY_ROUTE),
    upstream: counter('layotto_proxy_upstream_requests_total', "Requests answered by an upstream endpoint, by the endpoint and its status (the last attempt's).", ['cluster', 'upstream', 'status']),
    retries: counter('layotto_proxy_retries_total', 'Attempts beyond the first, by cluster.', ['cluster']),
    localReplies: counter('layotto_proxy_local_replies_total', 'Requests answered by the proxy itself, by reason (RATE_LIMITED, FAULT_ABORT, NO_ROUTE, NO_HEALTHY_UPSTREAM, UPSTREAM_TIMEOUT...).', ['listener', 'route', 'reason']),
  };
}

export const proxyMetrics: FilterFactory = (settings, ctx) => {
  parseSettings(PROXY_METRICS_TYPE, z.strictObject({}), settings);
  if (!ctx.metrics) {
    ctx.log.info(`${PROXY_METRICS_TYPE}: metrics are off (--enable-metrics=false); the proxy records none`);
    return inactive(PROXY_METRICS_TYPE);
  }
  return proxyMetricsFilter(ctx.metrics);
};

export function proxyMetricsFilter(registry: Registry): Filter {
  const m = proxyFamilies(registry);
  return {
    name: PROXY_METRICS_TYPE,
    apis: PROXY_APIS,
    onResponse(ex: Exchange) {
      const p = ex.proxy;
      const listener = p?.listener ?? '';
      const route = routeOf(ex);
      const cluster = clusterOf(ex);
      const labels = { listener, route, cluster };
      m.requests.inc({ ...labels, status: String(ex.status ?? 0) });
      m.duration.observe(labels, MetricsRegistry.msSince(ex.startNs));
      if (ex.requestBytes) m.requestBytes.inc(labels, ex.requestBytes);
      if (ex.responseBytes) m.responseBytes.inc(labels, ex.responseBytes);
      if (p?.upstream) m.upstream.inc({ cluster, upstream: p.upstream, status: String(p.upstreamStatus ?? 0) });
      if (p?.retries) m.retries.inc({ cluster }, p.retries);
      if (ex.errorCode) m.localReplies.inc({ listener, route, reason: ex.errorCode });
    },
  };
}
