// The translation from Envoy resources (decoded as protos.ts decodes them) to a MeshProxy resource:
// what maps to what, what is NACKed (XdsRejection) and what is only warned about. The results go
// through the MeshProxy schema as the client does.
import { meshProxySchema } from '../../proxy/config';
import { translateCluster } from './cluster';
import { XdsRejection, type Pb } from './common';
import { translateEndpoints } from './endpoint';
import { translateListener } from './listener';
import { translateRoutes } from './route';
import { translate } from './index';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const LRL = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const sa = (port: number, address = '127.0.0.1') => ({ socket_address: { address, port_value: port } });
const ALL = { default_value: { numerator: 100 } };

function collect(): { warn: (w: string) => void; warnings: string[] } {
  const warnings: string[] = [];
  return { warn: (w) => warnings.push(w), warnings };
}

const httpListener = (hcm: Pb, extra: Pb = {}): Pb => ({ name: 'l', address: sa(8080), filter_chains: [{ filters: [{ name: 'hcm', typed_config: { '@type': HCM, stat_prefix: 'l', http_filters: [ROUTER], ...hcm } }] }], ...extra });

describe('routes', () => {
  it('flattens virtual hosts in Envoy domain order, with matches, weights, timeouts, retries, rewrites and headers', () => {
    const { warn, warnings } = collect();
    const routes = translateRoutes(
      {
        name: 'rc',
        virtual_hosts: [
          { name: 'any', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'fallback' } }] },
          {
            name: 'shop',
            domains: ['shop.local', 'shop.local:8080'],
            retry_policy: { retry_on: '5xx,refused-stream,reset-before-request', num_retries: { value: 3 }, per_try_timeout: { seconds: 1 } },
            request_headers_to_add: [{ header: { key: 'X-VH', value: 'shop' } }],
            routes: [
              {
                name: 'cart',
                match: { path: '/cart', headers: [{ name: 'x-user', string_match: { prefix: 'vip.' } }, { name: 'x-debug', present_match: true, invert_match: true }] },
                route: { weighted_clusters: { clusters: [{ name: 'v1', weight: { value: 90 } }, { name: 'v2', weight: { value: 10 } }] }, timeout: { seconds: 2, nanos: 500_000_000 } },
              },
              { match: { safe_regex: { regex: '/items/[0-9]+' }, grpc: {} }, route: { cluster: 'items', prefix_rewrite: '/', host_rewrite_literal: 'items.internal', hash_policy: [{ header: { header_name: 'x' } }] } },
            ],
          },
        ],
      },
      'rc',
      warn,
      new Map(),
    );
    expect(routes).toEqual([
      {
        name: 'shop/cart',
        match: { path: '/cart', host: ['shop.local'], headers: [{ name: 'x-user', invert: false, regex: 'vip\\..*' }, { name: 'x-debug', invert: true, present: true }] },
        weightedClusters: [{ name: 'v1', weight: 90 }, { name: 'v2', weight: 10 }],
        timeout: 2500,
        retries: { attempts: 3, retryOn: ['5xx', 'reset'], statuses: [], perTryTimeout: 1000 },
        requestHeaders: { 'x-vh': 'shop' },
      },
      { name: 'shop/1', match: { pathRegex: '/items/[0-9]+', grpc: {}, host: ['shop.local'] }, cluster: 'items', prefixRewrite: '/', hostRewrite: 'items.internal', retries: expect.objectContaining({ attempts: 3 }), requestHeaders: { 'x-vh': 'shop' } },
      { name: 'any/0', match: {}, cluster: 'fallback' },
    ]);
    expect(warnings).toEqual([expect.stringMatching(/retry_on reset-before-request is not supported/), expect.stringMatching(/hash_policy is not supported/), expect.stringMatching(/retry_on reset-before-request/)]);
  });

  it.each([
    ['a direct response', { match: { prefix: '/' }, direct_response: { status: 200 } }, /only route actions/],
    ['a redirect', { match: { prefix: '/' }, redirect: { path_redirect: '/x' } }, /only route actions/],
    ['query parameters', { match: { prefix: '/', query_parameters: [{ name: 'q' }] }, route: { cluster: 'c' } }, /query_parameters is not supported/],
    ['a cluster header', { match: { prefix: '/' }, route: { cluster_header: 'x-cluster' } }, /cluster_header is not supported/],
    ['a case-insensitive path', { match: { prefix: '/', case_sensitive: { value: false } }, route: { cluster: 'c' } }, /case_sensitive/],
    ['an ignore_case header', { match: { prefix: '/', headers: [{ name: 'h', string_match: { exact: 'x', ignore_case: true } }] }, route: { cluster: 'c' } }, /ignore_case/],
  ])('NACKs %s', (_what, route, message) => {
    expect(() => translateRoutes({ virtual_hosts: [{ name: 'v', domains: ['*'], routes: [route] }] }, 'rc', () => undefined, new Map())).toThrow(message);
  });
});

describe('clusters and endpoints', () => {
  it('maps an EDS cluster: lb policy, connect timeout, circuit breakers, outlier detection (Envoy defaults), health check, HTTP/2', () => {
    const { warn, warnings } = collect();
    const out = translateCluster(
      {
        name: 'c',
        type: 'EDS',
        eds_cluster_config: { service_name: 'c-eds', eds_config: { ads: {} } },
        lb_policy: 'LEAST_REQUEST',
        connect_timeout: { nanos: 250_000_000 },
        circuit_breakers: { thresholds: [{ max_connections: { value: 10 }, max_requests: { value: 20 }, max_pending_requests: { value: 5 } }, { priority: 'HIGH', max_requests: { value: 1 } }] },
        outlier_detection: { consecutive_5xx: { value: 3 }, base_ejection_time: { seconds: 10 } },
        health_checks: [{ timeout: { seconds: 1 }, interval: { seconds: 2 }, unhealthy_threshold: { value: 3 }, healthy_threshold: { value: 2 }, http_health_check: { path: '/ready', expected_statuses: [{ start: 200, end: 204 }] } }],
        typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicit_http_config: { http2_protocol_options: {} } } },
      },
      'cluster c',
      warn,
    )!;
    expect(out.edsName).toBe('c-eds');
    expect(out.spec).toEqual({
      name: 'c',
      lbPolicy: 'least_request',
      protocol: 'h2c',
      connectTimeout: 250,
      discovery: 'eds',
      endpoints: [],
      maxConnections: 10,
      circuitBreakers: { maxRequests: 20, maxRetries: 3 },
      outlierDetection: { consecutive5xx: 3, consecutiveConnectFailures: 3, interval: 10_000, baseEjectionTime: 10_000, maxEjectionPercent: 10 },
      healthCheck: { protocol: 'http', path: '/ready', expectedStatuses: [200, 201, 202, 203], interval: 2000, timeout: 1000, unhealthyThreshold: 3, healthyThreshold: 2 },
    });
    expect(warnings).toEqual([expect.stringMatching(/priority HIGH are ignored/), expect.stringMatching(/max_pending_requests is not supported/)]);
    const parsed = meshProxySchema.parse({ apiVersion: 'v1', kind: 'MeshProxy', metadata: { name: 'x' }, spec: { clusters: [out.spec] } });
    expect(parsed.spec.clusters[0]).toMatchObject({ discovery: 'eds', endpoints: [] });
  });

  it('maps STATIC and STRICT_DNS clusters with their load assignment, leaves ORIGINAL_DST out with a warning, NACKs TLS and other lb policies', () => {
    const { warn, warnings } = collect();
    const cla = { cluster_name: 's', endpoints: [{ lb_endpoints: [{ endpoint: { address: sa(81) }, load_balancing_weight: { value: 3 } }, { endpoint: { address: sa(82, '::1') } }] }] };
    expect(translateCluster({ name: 's', load_assignment: cla }, 'cluster s', warn)!.spec).toMatchObject({ lbPolicy: 'round_robin', protocol: 'http1', connectTimeout: 5000, discovery: 'static', endpoints: [{ address: '127.0.0.1:81', weight: 3 }, { address: '[::1]:82', weight: 1 }] });
    expect(translateCluster({ name: 'd', type: 'STRICT_DNS', lb_policy: 'RANDOM', load_assignment: { endpoints: [{ lb_endpoints: [{ endpoint: { address: sa(80, 'svc.local') } }] }] } }, 'cluster d', warn)!.spec).toMatchObject({ lbPolicy: 'random', endpoints: [{ address: 'svc.local:80', weight: 1 }] });
    expect(translateCluster({ name: 'PassthroughCluster', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' }, 'cluster PassthroughCluster', warn)).toBeUndefined();
    expect(warnings).toEqual([expect.stringMatching(/ORIGINAL_DST is not supported \(cluster left out\)/)]);
    expect(() => translateCluster({ name: 't', type: 'EDS', transport_socket: { name: 'tls' } }, 'cluster t', warn)).toThrow(XdsRejection);
    expect(() => translateCluster({ name: 'm', type: 'EDS', lb_policy: 'MAGLEV' }, 'cluster m', warn)).toThrow(/lb_policy MAGLEV is not supported/);
  });

  it('keeps priority-0 endpoints Envoy would use (healthy, unknown, degraded), with their weights', () => {
    const { warn, warnings } = collect();
    const ep = (port: number, health?: string) => ({ endpoint: { address: sa(port) }, ...(health && { health_status: health }) });
    const out = translateEndpoints({ cluster_name: 'c', endpoints: [{ lb_endpoints: [ep(1), ep(2, 'HEALTHY'), ep(3, 'UNHEALTHY'), ep(4, 'DRAINING'), ep(5, 'DEGRADED'), ep(6, 'TIMEOUT')] }, { priority: 1, lb_endpoints: [ep(7)] }] }, 'cla c', warn);
    expect(out.map((e) => e.address)).toEqual(['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:5']);
    expect(warnings).toEqual([expect.stringMatching(/priority > 0 ignored/)]);
  });
});

describe('listeners', () => {
  it('maps an HCM with inline routes and an enforced local rate limit, per-route buckets included', () => {
    const { warn, warnings } = collect();
    const perRoute = { 'envoy.filters.http.local_ratelimit': { '@type': LRL, stat_prefix: 'r', token_bucket: { max_tokens: 2, fill_interval: { seconds: 1 } }, filter_enabled: ALL, filter_enforced: ALL } };
    const out = translateListener(
      httpListener({
        route_config: { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ name: 'slow', match: { prefix: '/slow' }, route: { cluster: 'c' }, typed_per_filter_config: perRoute }, { match: { prefix: '/' }, route: { cluster: 'c' } }] }] },
        http_filters: [{ name: 'envoy.filters.http.local_ratelimit', typed_config: { '@type': LRL, stat_prefix: 'l', token_bucket: { max_tokens: 100, tokens_per_fill: { value: 10 }, fill_interval: { seconds: 1 } }, filter_enabled: ALL, filter_enforced: ALL, status: { code: 'ServiceUnavailable' } } }, { name: 'istio.stats', is_optional: true, typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct' } }, ROUTER],
        common_http_protocol_options: { idle_timeout: { seconds: 30 } },
      }),
      new Map(),
      warn,
    );
    expect(out.spec).toMatchObject({
      name: 'l',
      address: '127.0.0.1:8080',
      protocol: 'http',
      idleTimeout: 30_000,
      routes: [{ name: 'v/slow', cluster: 'c' }, { name: 'v/1', cluster: 'c' }],
      filters: [{ type: 'proxy.ratelimit', config: { rules: [{ route: 'v/slow', rate: 1, per: 1000, burst: 2 }, { rate: 10, per: 1000, burst: 100 }], status: 503 } }],
    });
    expect(warnings).toEqual([expect.stringMatching(/routes with their own bucket also count/), expect.stringMatching(/istio.stats .* is not supported \(optional: left out\)/)]);
    const parsed = meshProxySchema.safeParse({ apiVersion: 'v1', kind: 'MeshProxy', metadata: { name: 'x' }, spec: { listeners: [out.spec], clusters: [{ name: 'c', endpoints: ['127.0.0.1:1'] }] } });
    expect(parsed.success).toBe(true);
  });

  it('leaves a local rate limit that does not enforce out, NACKs a sampled one', () => {
    const lrl = (extra: Pb) => httpListener({ route_config: { virtual_hosts: [] }, http_filters: [{ name: 'rl', typed_config: { '@type': LRL, stat_prefix: 'l', token_bucket: { max_tokens: 1, fill_interval: { seconds: 1 } }, ...extra } }, ROUTER] });
    const { warn, warnings } = collect();
    expect(translateListener(lrl({}), new Map(), warn).spec!.filters).toEqual([]);
    expect(warnings).toEqual([expect.stringMatching(/not enforced \(filter_enabled 0%, filter_enforced 0%\)/)]);
    expect(() => translateListener(lrl({ filter_enabled: ALL, filter_enforced: { default_value: { numerator: 50 } } }), new Map(), warn)).toThrow(/filter_enforced of 50% is not supported/);
  });

  it('waits for an RDS route configuration (warming), maps tcp_proxy', () => {
    const warn = () => undefined;
    expect(translateListener(httpListener({ rds: { route_config_name: 'r', config_source: { ads: {} } } }), new Map(), warn)).toEqual({ rdsName: 'r' });
    const rc = new Map([['r', { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }] }]]);
    expect(translateListener(httpListener({ rds: { route_config_name: 'r' } }), rc, warn).spec).toMatchObject({ routes: [{ cluster: 'c' }] });
    const tcp = { name: 't', address: sa(9000), filter_chains: [{ filters: [{ name: 'tcp', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 't', cluster: 'db', idle_timeout: { seconds: 60 } } }] }] };
    expect(translateListener(tcp, new Map(), warn).spec).toEqual({ name: 't', address: '127.0.0.1:9000', protocol: 'tcp', cluster: 'db', idleTimeout: 60_000 });
  });

  it.each([
    ['two filter chains', { filter_chains: [{ filters: [] }, { filters: [] }] }, /2 filter chains/],
    ['a filter chain match', { filter_chains: [{ filter_chain_match: { server_names: ['x'] }, filters: [] }] }, /filter_chain_match is not supported/],
    ['TLS', { filter_chains: [{ transport_socket: { name: 'tls' }, filters: [] }] }, /TLS/],
    ['a pipe address', { address: { pipe: { path: '/tmp/s' } } }, /pipe addresses/],
  ])('NACKs %s', (_what, extra, message) => {
    expect(() => translateListener(httpListener({}, extra), new Map(), () => undefined)).toThrow(message);
  });

  it('NACKs an HTTP filter it does not have unless it is optional, and an HCM without the router last', () => {
    const cors = { name: 'envoy.filters.http.cors', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors' } };
    expect(() => translateListener(httpListener({ route_config: {}, http_filters: [cors, ROUTER] }), new Map(), () => undefined)).toThrow(/http filter envoy.filters.http.cors \(envoy.extensions.filters.http.cors.v3.Cors\) is not supported/);
    expect(() => translateListener(httpListener({ route_config: {}, http_filters: [] }), new Map(), () => undefined)).toThrow(/must end with envoy.filters.http.router/);
  });
});

describe('translate', () => {
  it('puts the state together: EDS endpoints into their clusters, warming listeners out, unknown clusters as empty ones (503) with a warning', () => {
    const { warn, warnings } = collect();
    const t = translate(
      {
        listeners: new Map([
          ['ready', httpListener({ route_config: { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/x' }, route: { cluster: 'later' } }, { match: { prefix: '/' }, route: { cluster: 'c' } }] }] } }, { name: 'ready' })],
          ['warming', httpListener({ rds: { route_config_name: 'not-yet' } }, { name: 'warming', address: sa(8081) })],
        ]),
        routes: new Map(),
        clusters: new Map([['c', { name: 'c', type: 'EDS' }]]),
        endpoints: new Map([['c', { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: sa(9) } }] }] }]]),
      },
      warn,
    );
    expect(t).toMatchObject({ rdsNames: ['not-yet'], edsNames: ['c'], warming: ['warming'] });
    expect(t.spec.clusters).toEqual([expect.objectContaining({ name: 'c', endpoints: [{ address: '127.0.0.1:9', weight: 1 }] }), { name: 'later', discovery: 'eds', endpoints: [] }]);
    expect(warnings).toEqual(['listener ready: cluster later is unknown: requests to it answer 503']);
    expect(meshProxySchema.safeParse({ apiVersion: 'v1', kind: 'MeshProxy', metadata: { name: 'xds' }, spec: t.spec }).success).toBe(true);
  });
});
