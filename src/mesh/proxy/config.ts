// The MeshProxy resource: the proxy's listeners, routes and clusters, after Envoy's and MOSN's
// static configuration but in the style of a Dapr manifest, so it sits in --resources-path beside
// the components. One sidecar may load several; names are unique across them. Durations are Go
// duration strings ("250ms", "5s") or milliseconds, as elsewhere in the resources.
import { z } from 'zod';
import { parseDuration } from '../../components/metadata';

/** A Go duration string or milliseconds, as milliseconds (the proxy filters read theirs with it too). */
export const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  try {
    return parseDuration(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});
const ms = (fallback: number) => duration.optional().transform((v) => v ?? fallback);

/** host:port; a bare port means 127.0.0.1 (the proxy listens on loopback unless told otherwise). */
const address = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const s = String(v);
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s) ?? (/^\d{1,5}$/.test(s) ? [s, undefined, '127.0.0.1', s] : null);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `address must be host:port or a port, got ${JSON.stringify(s)}` });
    return z.NEVER;
  }
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
});

const filterSpec = z.object({ type: z.string().min(1), config: z.record(z.string(), z.unknown()).nullish().transform((v) => v ?? {}) });

const headerMatch = z
  .object({ name: z.string().min(1).transform((n) => n.toLowerCase()), exact: z.string().optional(), regex: z.string().optional(), present: z.boolean().optional(), invert: z.boolean().default(false) })
  .refine((h) => [h.exact, h.regex, h.present].filter((x) => x !== undefined).length <= 1, { message: 'a header match takes one of exact, regex or present' });

const routeMatch = z.object({
  /** Host header or :authority, port ignored: exact, "*.suffix" or "*". */
  host: z.union([z.string(), z.array(z.string())]).optional().transform((v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v])),
  pathPrefix: z.string().optional(),
  path: z.string().optional(),
  pathRegex: z.string().optional(),
  headers: z.array(headerMatch).default([]),
  /** gRPC: the request path /service/method; either part may be left out. */
  grpc: z.object({ service: z.string().optional(), method: z.string().optional() }).optional(),
  methods: z.array(z.string().transform((m) => m.toUpperCase())).optional(),
});

const retrySpec = z.object({
  /** Retries after the first attempt. */
  attempts: z.number().int().min(0).max(10).default(1),
  /** 5xx, gateway-error (502/503/504), connect-failure, reset, retriable-status (with statuses), cancelled/unavailable (gRPC). */
  retryOn: z.array(z.string()).default(['connect-failure', 'reset', 'gateway-error']),
  statuses: z.array(z.number().int()).default([]),
  perTryTimeout: duration.optional(),
  backoff: ms(25),
});

/** Names of policies in the loaded Resiliency resources' spec.policies. */
const resiliencyRef = z.object({ timeout: z.string().optional(), retry: z.string().optional(), circuitBreaker: z.string().optional() });

const weightedCluster = z.object({ name: z.string().min(1), weight: z.number().int().min(0) });

const routeSpec = z.object({
  name: z.string().optional(),
  match: routeMatch.default({ host: undefined, headers: [] }),
  /** Where the route goes; or `weightedClusters`: each request to one of them in proportion to its weight. */
  cluster: z.string().min(1).optional(),
  weightedClusters: z.array(weightedCluster).min(1).optional(),
  /** Whole-request deadline, retries included; 0 = none. */
  timeout: ms(15_000),
  retries: retrySpec.optional(),
  resiliency: resiliencyRef.optional(),
  prefixRewrite: z.string().optional(),
  hostRewrite: z.string().optional(),
  /** Headers added to the upstream request. */
  requestHeaders: z.record(z.string(), z.string()).default({}),
})
  .refine((r) => (r.cluster === undefined) !== (r.weightedClusters === undefined), { message: 'a route takes either cluster or weightedClusters' })
  .refine((r) => r.weightedClusters === undefined || r.weightedClusters.some((w) => w.weight > 0), { message: 'weightedClusters need a positive weight' });

const listenerSpec = z.object({
  name: z.string().min(1),
  address,
  /** http: HTTP/1.1 and h2c (prior knowledge) on one port, gRPC included; tcp: bytes, to `cluster`. */
  protocol: z.enum(['http', 'tcp']).default('http'),
  /** Also act as an HTTP_PROXY: absolute-form request targets and CONNECT tunnels. */
  forwardProxy: z.boolean().default(false),
  filters: z.array(filterSpec).default([]),
  routes: z.array(routeSpec).default([]),
  cluster: z.string().optional(),
  /** Idle downstream connections are closed after this. */
  idleTimeout: ms(60_000),
});

const healthCheckSpec = z.object({
  protocol: z.enum(['http', 'tcp']).default('http'),
  path: z.string().default('/healthz'),
  /** Statuses that count as healthy (default 200-399). */
  expectedStatuses: z.array(z.number().int()).optional(),
  interval: ms(5_000),
  timeout: ms(1_000),
  unhealthyThreshold: z.number().int().positive().default(2),
  healthyThreshold: z.number().int().positive().default(1),
});

const outlierSpec = z.object({
  consecutive5xx: z.number().int().positive().default(5),
  consecutiveGatewayErrors: z.number().int().positive().optional(),
  consecutiveConnectFailures: z.number().int().positive().default(3),
  interval: ms(10_000),
  baseEjectionTime: ms(30_000),
  maxEjectionPercent: z.number().min(0).max(100).default(50),
});

const endpointSpec = z.union([address.transform((a) => ({ ...a, weight: 1 })), z.object({ address, weight: z.number().int().positive().default(1) }).transform((e) => ({ ...e.address, weight: e.weight }))]);

const clusterSpec = z
  .object({
    name: z.string().min(1),
    lbPolicy: z.enum(['round_robin', 'least_request', 'random']).default('round_robin'),
    endpoints: z.array(endpointSpec).default([]),
    /** Instead of endpoints: another app, reached by service invocation (its sidecar, found by name resolution). */
    appId: z.string().optional(),
    /** How the proxy talks to the endpoints; `auto`: as the downstream request came (h2c for h2c/gRPC). */
    protocol: z.enum(['auto', 'http1', 'h2c']).default('auto'),
    connectTimeout: ms(1_000),
    /** Per endpoint: pooled connections (HTTP/1.1) and how long an idle one is kept. */
    maxConnections: z.number().int().positive().default(128),
    keepAlive: ms(60_000),
    healthCheck: healthCheckSpec.optional(),
    outlierDetection: outlierSpec.optional(),
    resiliency: resiliencyRef.optional(),
    /** Envoy's circuit breaker thresholds: requests in flight to the cluster, and retries in flight; past them a request is answered 503 (overflow) or not retried. */
    circuitBreakers: z.object({ maxRequests: z.number().int().positive().optional(), maxRetries: z.number().int().min(0).optional() }).optional(),
    /** `eds`: the endpoints come and go at run time (xDS): the cluster may have none for now. */
    discovery: z.enum(['static', 'eds']).default('static'),
  })
  .refine((c) => (c.appId === undefined ? c.endpoints.length > 0 || c.discovery === 'eds' : c.endpoints.length === 0 && c.discovery === 'static'), { message: 'a cluster takes either endpoints or appId' });

export const meshProxySchema = z.object({
  apiVersion: z.string(),
  kind: z.literal('MeshProxy'),
  metadata: z.object({ name: z.string().min(1) }).passthrough(),
  spec: z.object({ listeners: z.array(listenerSpec).default([]), clusters: z.array(clusterSpec).default([]) }),
  scopes: z.array(z.string()).nullish().transform((v) => v ?? []),
});

export type MeshProxyManifest = z.infer<typeof meshProxySchema>;
export type ListenerConfig = z.infer<typeof listenerSpec>;
export type RouteConfig = z.infer<typeof routeSpec>;
export type RouteMatchConfig = z.infer<typeof routeMatch>;
export type RetryConfig = z.infer<typeof retrySpec>;
export type ClusterConfig = z.infer<typeof clusterSpec>;
export type HealthCheckConfig = z.infer<typeof healthCheckSpec>;
export type OutlierConfig = z.infer<typeof outlierSpec>;
export type ResiliencyRefConfig = z.infer<typeof resiliencyRef>;
export type FilterConfig = z.infer<typeof filterSpec>;
export type Address = { host: string; port: number };
