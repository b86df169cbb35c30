// Cluster (CDS) → a MeshProxy cluster: discovery type (EDS, STATIC, STRICT_DNS; LOGICAL_DNS read
// as STRICT_DNS: the address is resolved per connection either way), lb policy, connect timeout,
// circuit breaker thresholds, outlier detection, the first active health check, and the upstream
// protocol (HTTP/2 when the cluster's protocol options say so, else HTTP/1.1, as Envoy).
import { translateEndpoints } from './endpoint';
import { ignoredFields, ms, type Pb, reject, typeName, type Warn, wrapped } from './common';

const LB: Record<string, string> = { ROUND_ROBIN: 'round_robin', LEAST_REQUEST: 'least_request', RANDOM: 'random' };
const HTTP_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

export interface ClusterOut {
  /** The cluster as the MeshProxy schema takes it (before parsing). */
  spec: Record<string, unknown>;
  /** EDS: the ClusterLoadAssignment name to subscribe to. */
  edsName?: string;
}

function protocol(c: Pb, where: string): 'http1' | 'h2c' | 'auto' {
  if (c.http2_protocol_options) return 'h2c';
  const typed = c.typed_extension_protocol_options?.[HTTP_OPTIONS];
  if (!typed) return 'http1';
  if (typeName(typed) !== HTTP_OPTIONS) return reject(where, `typed_extension_protocol_options ${HTTP_OPTIONS} must be of that type`);
  if (typed.explicit_http_config?.http2_protocol_options) return 'h2c';
  if (typed.use_downstream_protocol_config) return 'auto';
  if (typed.auto_config) return reject(where, 'auto_config (ALPN) needs TLS, which is not supported');
  return 'http1';
}

function outlier(o: Pb, where: string, warn: Warn): Record<string, unknown> {
  const known = ['consecutive_5xx', 'consecutive_gateway_failure', 'interval', 'base_ejection_time', 'max_ejection_percent', 'enforcing_consecutive_5xx', 'enforcing_consecutive_gateway_failure'];
  ignoredFields(o, known, where, warn);
  const n5xx = wrapped<number>(o.consecutive_5xx, 5)!;
  const enforce5xx = wrapped<number>(o.enforcing_consecutive_5xx, 100)!;
  const enforceGateway = wrapped<number>(o.enforcing_consecutive_gateway_failure, 0)!;
  if ((enforce5xx !== 0 && enforce5xx !== 100) || (enforceGateway !== 0 && enforceGateway !== 100)) warn(`${where}: enforcing percentages other than 0 and 100 are taken as 100`);
  // Without split_external_local_origin_errors a connect failure counts as a 5xx: it ejects at the same count.
  const never = 1_000_000;
  return {
    consecutive5xx: enforce5xx > 0 ? n5xx : never,
    consecutiveConnectFailures: enforce5xx > 0 ? n5xx : never,
    ...(enforceGateway > 0 && { consecutiveGatewayErrors: wrapped<number>(o.consecutive_gateway_failure, 5) }),
    interval: ms(o.interval) ?? 10_000,
    baseEjectionTime: ms(o.base_ejection_time) ?? 30_000,
    maxEjectionPercent: wrapped<number>(o.max_ejection_percent, 10),
  };
}

function healthCheck(h: Pb, where: string, warn: Warn): Record<string, unknown> {
  ignoredFields(h, ['timeout', 'interval', 'unhealthy_threshold', 'healthy_threshold', 'http_health_check', 'tcp_health_check'], where, warn);
  const common = {
    interval: ms(h.interval) ?? 5_000,
    timeout: ms(h.timeout) ?? 1_000,
    unhealthyThreshold: wrapped<number>(h.unhealthy_threshold, 2),
    healthyThreshold: wrapped<number>(h.healthy_threshold, 1),
  };
  if (h.tcp_health_check) {
    if (h.tcp_health_check.send || h.tcp_health_check.receive?.length) reject(where, 'tcp_health_check payloads are not supported');
    return { protocol: 'tcp', ...common };
  }
  const http = h.http_health_check ?? reject(where, 'only http_health_check and tcp_health_check are supported');
  ignoredFields(http, ['path', 'host', 'expected_statuses'], `${where}.http_health_check`, warn);
  const expected: number[] = [];
  for (const r of (http.expected_statuses ?? []) as Pb[]) for (let s = Number(r.start); s < Number(r.end) && expected.length < 1000; s++) expected.push(s);
  return { protocol: 'http', path: http.path ?? '/', ...(expected.length > 0 && { expectedStatuses: expected }), ...common };
}

export function translateCluster(c: Pb, where: string, warn: Warn): ClusterOut | undefined {
  const type: string = c.type ?? (c.cluster_type ? 'CLUSTER_TYPE' : 'STATIC');
  if (type === 'ORIGINAL_DST' || type === 'CLUSTER_TYPE') {
    // Istio always sends PassthroughCluster (ORIGINAL_DST): it is left out, not NACKed; a route naming it is.
    warn(`${where}: cluster type ${type === 'CLUSTER_TYPE' ? (typeName(c.cluster_type?.typed_config) ?? 'custom') : type} is not supported (cluster left out)`);
    return undefined;
  }
  if (c.transport_socket || c.transport_socket_matches?.length) reject(where, 'transport sockets (upstream TLS) are not supported');
  for (const f of ['lb_subset_config', 'ring_hash_lb_config', 'maglev_lb_config', 'load_balancing_policy', 'upstream_http_protocol_options']) if (c[f] !== undefined) reject(where, `${f} is not supported`);
  const lbPolicy = LB[c.lb_policy ?? 'ROUND_ROBIN'] ?? reject(where, `lb_policy ${c.lb_policy} is not supported (ROUND_ROBIN, LEAST_REQUEST, RANDOM)`);
  ignoredFields(c, ['name', 'type', 'lb_policy', 'connect_timeout', 'load_assignment', 'eds_cluster_config', 'circuit_breakers', 'outlier_detection', 'health_checks', 'http2_protocol_options', 'typed_extension_protocol_options', 'dns_lookup_family', 'common_lb_config', 'least_request_lb_config', 'alt_stat_name', 'metadata'], where, warn);
  const spec: Record<string, unknown> = { name: c.name, lbPolicy, protocol: protocol(c, where) };
  const connect = ms(c.connect_timeout);
  spec.connectTimeout = connect ?? 5_000; // Envoy's default
  let edsName: string | undefined;
  if (type === 'EDS') {
    spec.discovery = 'eds';
    spec.endpoints = [];
    edsName = c.eds_cluster_config?.service_name || c.name;
    if (c.eds_cluster_config?.eds_config && !c.eds_cluster_config.eds_config.ads) warn(`${where}: eds_config other than ads is read as ads`);
  } else if (type === 'STATIC' || type === 'STRICT_DNS' || type === 'LOGICAL_DNS') {
    spec.endpoints = c.load_assignment ? translateEndpoints(c.load_assignment, `${where}.load_assignment`, warn) : [];
    // A static cluster may be empty (Istio's BlackHoleCluster): no healthy upstream, as Envoy answers.
    spec.discovery = (spec.endpoints as unknown[]).length === 0 ? 'eds' : 'static';
  } else reject(where, `cluster type ${type} is not supported (EDS, STATIC, STRICT_DNS, LOGICAL_DNS)`);
  const thresholds = ((c.circuit_breakers?.thresholds ?? []) as Pb[]).filter((t) => (t.priority ?? 'DEFAULT') === 'DEFAULT');
  if ((c.circuit_breakers?.thresholds ?? []).length > thresholds.length) warn(`${where}: circuit breaker thresholds of priority HIGH are ignored (no priority routing)`);
  const t = thresholds[0];
  if (t) {
    ignoredFields(t, ['priority', 'max_connections', 'max_requests', 'max_retries', 'max_pending_requests', 'track_remaining'], `${where}.circuit_breakers.thresholds[0]`, warn);
    if (t.max_pending_requests !== undefined) warn(`${where}: circuit_breakers max_pending_requests is not supported (ignored: requests wait for a pooled connection)`);
    const maxConnections = wrapped<number>(t.max_connections);
    if (maxConnections !== undefined) spec.maxConnections = Math.max(1, maxConnections); // per endpoint here, per cluster in Envoy
    spec.circuitBreakers = { maxRequests: Math.max(1, wrapped<number>(t.max_requests, 1024)!), maxRetries: wrapped<number>(t.max_retries, 3) };
  }
  if (c.outlier_detection) spec.outlierDetection = outlier(c.outlier_detection, `${where}.outlier_detection`, warn);
  const checks = (c.health_checks ?? []) as Pb[];
  if (checks.length > 1) warn(`${where}: only the first of ${checks.length} health checks is used`);
  if (checks[0]) spec.healthCheck = healthCheck(checks[0], `${where}.health_checks[0]`, warn);
  if (Number(c.common_lb_config?.healthy_panic_threshold?.value ?? 0) > 0) warn(`${where}: healthy_panic_threshold is not supported (no panic routing: no healthy endpoint answers 503)`);
  return { spec, edsName };
}
