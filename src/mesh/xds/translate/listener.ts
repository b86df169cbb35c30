// Listener (LDS) → a MeshProxy listener. One filter chain (no filter_chain_match, no TLS) ending in
// an HttpConnectionManager (routes from RDS or inline, http_filters: local rate limit, then the
// router) or a TcpProxy to one cluster. Istio's extra filters are NACKed unless marked optional.
import { translateLocalRateLimit } from './ratelimit';
import { type PerRouteConfig, type RouteOut, translateRoutes } from './route';
import { hostPort, ignoredFields, ms, type Pb, reject, socketAddress, typeName, type Warn } from './common';

export const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TCP_PROXY = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const ROUTER = 'envoy.extensions.filters.http.router.v3.Router';
export const LOCAL_RATELIMIT = 'envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';

export interface ListenerOut {
  /** The listener as the MeshProxy schema takes it; undefined while its RDS route configuration has not arrived (warming). */
  spec?: Record<string, unknown>;
  /** The RouteConfiguration it takes from RDS. */
  rdsName?: string;
}

/** The one filter chain a listener may have. */
function chainOf(l: Pb, where: string): Pb {
  const chains = (l.filter_chains ?? []) as Pb[];
  if (chains.length > 1) reject(where, `${chains.length} filter chains: one is supported (filter_chain_match is not)`);
  const chain = chains[0] ?? l.default_filter_chain ?? reject(where, 'a filter chain is required');
  if (chain.filter_chain_match && Object.keys(chain.filter_chain_match).length > 0) reject(`${where}.filter_chains[0]`, 'filter_chain_match is not supported');
  if (chain.transport_socket) reject(`${where}.filter_chains[0]`, 'transport_socket (TLS) is not supported');
  return chain;
}

function httpFilters(hcm: Pb, where: string, warn: Warn, perRoute: PerRouteConfig): Record<string, unknown>[] {
  const list = (hcm.http_filters ?? []) as Pb[];
  const out: Record<string, unknown>[] = [];
  let router = false;
  for (const [i, f] of list.entries()) {
    const fwhere = `${where}.http_filters[${i}]`;
    const type = typeName(f.typed_config);
    if (router) reject(fwhere, 'filters after the router are not supported');
    if (f.disabled) {
      warn(`${fwhere}: ${f.name} is disabled (left out)`);
      continue;
    }
    if (type === ROUTER || (!type && f.name === 'envoy.filters.http.router')) {
      ignoredFields(f.typed_config ?? {}, [], `${fwhere}.typed_config`, warn);
      router = true;
    } else if (type === LOCAL_RATELIMIT) {
      const filter = translateLocalRateLimit(f.typed_config, perRoute.get(f.name) ?? [], fwhere, warn);
      if (filter) out.push(filter);
    } else if (f.is_optional) warn(`${fwhere}: ${f.name}${type ? ` (${type})` : ''} is not supported (optional: left out)`);
    else reject(fwhere, `http filter ${f.name}${type ? ` (${type})` : ''} is not supported (supported: envoy.filters.http.local_ratelimit, envoy.filters.http.router)`);
  }
  if (!router) reject(where, 'the http_filters must end with envoy.filters.http.router');
  return out;
}

export function translateListener(l: Pb, routeConfigs: ReadonlyMap<string, Pb>, warn: Warn): ListenerOut {
  const where = `listener ${l.name}`;
  if (l.api_listener) reject(where, 'api_listener is not supported');
  if (l.internal_listener) reject(where, 'internal listeners are not supported');
  if (l.additional_addresses?.length) reject(where, 'additional_addresses are not supported');
  ignoredFields(l, ['name', 'address', 'filter_chains', 'default_filter_chain', 'traffic_direction', 'stat_prefix', 'metadata'], where, warn);
  const address = hostPort(socketAddress(l.address, `${where}.address`));
  const chain = chainOf(l, where);
  const filters = (chain.filters ?? []) as Pb[];
  if (filters.length !== 1) reject(`${where}.filter_chains[0]`, `${filters.length} network filters: exactly one (http_connection_manager or tcp_proxy) is supported`);
  const nf = filters[0]!;
  const fwhere = `${where}.filter_chains[0].filters[0]`;
  const type = typeName(nf.typed_config);
  if (type === TCP_PROXY) {
    const t = nf.typed_config;
    ignoredFields(t, ['stat_prefix', 'cluster', 'idle_timeout'], fwhere, warn);
    if (t.cluster === undefined) reject(fwhere, 'tcp_proxy needs cluster (weighted_clusters are not supported)');
    const idle = ms(t.idle_timeout);
    return { spec: { name: l.name, address, protocol: 'tcp', cluster: t.cluster, ...(idle !== undefined && { idleTimeout: idle }) } };
  }
  if (type !== HCM) return reject(fwhere, `network filter ${nf.name}${type ? ` (${type})` : ''} is not supported (http_connection_manager, tcp_proxy)`);
  const hcm = nf.typed_config;
  ignoredFields(hcm, ['stat_prefix', 'codec_type', 'rds', 'route_config', 'http_filters', 'common_http_protocol_options', 'stream_idle_timeout', 'use_remote_address', 'normalize_path', 'merge_slashes', 'request_id_extension', 'generate_request_id'], fwhere, warn);
  if (hcm.scoped_routes) reject(fwhere, 'scoped_routes are not supported');
  if (hcm.codec_type === 'HTTP3') reject(fwhere, 'HTTP/3 is not supported');
  let routeConfig: Pb | undefined;
  let rdsName: string | undefined;
  if (hcm.rds) {
    rdsName = hcm.rds.route_config_name;
    if (hcm.rds.config_source && !hcm.rds.config_source.ads) warn(`${fwhere}: rds config_source other than ads is read as ads`);
    routeConfig = routeConfigs.get(rdsName!);
    if (!routeConfig) return { rdsName };
  } else routeConfig = hcm.route_config ?? reject(fwhere, 'rds or route_config is required');
  const perRoute: PerRouteConfig = new Map();
  const routes: RouteOut[] = translateRoutes(routeConfig!, rdsName ? `route configuration ${rdsName}` : `${fwhere}.route_config`, warn, perRoute);
  const httpFilterSpecs = httpFilters(hcm, fwhere, warn, perRoute);
  const idle = ms(hcm.common_http_protocol_options?.idle_timeout);
  return {
    rdsName,
    spec: { name: l.name, address, protocol: 'http', routes, filters: httpFilterSpecs, ...(idle !== undefined && idle > 0 && { idleTimeout: idle }) },
  };
}
