// RouteConfiguration (RDS, or an HttpConnectionManager's inline route_config) → the listener's
// routes. Virtual hosts are flattened: each route also matches its virtual host's domains, and
// virtual hosts are ordered as Envoy picks them (exact domains, then suffix wildcards, then prefix
// wildcards, then "*"), since the proxy tries routes in order. Route names are
// "<virtual host>/<route name or index>" (the rate-limit rules name them).
import { escapeRegex, ignoredFields, ms, type Pb, reject, type Warn, wrapped } from './common';

/** A route as the MeshProxy schema takes it (before parsing). */
export interface RouteOut {
  name: string;
  match: Record<string, unknown>;
  cluster?: string;
  weightedClusters?: { name: string; weight: number }[];
  timeout?: number;
  retries?: Record<string, unknown>;
  prefixRewrite?: string;
  hostRewrite?: string;
  requestHeaders?: Record<string, string>;
}

/** A per-route typed_per_filter_config, by filter name, for the filters that read one (local rate limit). */
export type PerRouteConfig = Map<string, { route: string; config: Pb }[]>;

const RETRY_ON: Record<string, string> = {
  '5xx': '5xx',
  'gateway-error': 'gateway-error',
  'connect-failure': 'connect-failure',
  reset: 'reset',
  'refused-stream': 'reset',
  'retriable-status-codes': 'retriable-status',
  'retriable-4xx': 'retriable-4xx',
  cancelled: 'cancelled',
  'deadline-exceeded': 'deadline-exceeded',
  internal: 'internal',
  'resource-exhausted': 'resource-exhausted',
  unavailable: 'unavailable',
};

/** Envoy's virtual host choice, as an order: 0 exact, 1 "*.suffix", 2 "prefix*", 3 "*". */
function domainRank(domains: string[]): number {
  let best = 3;
  for (const d of domains) best = Math.min(best, d === '*' ? 3 : d.startsWith('*') ? 1 : d.endsWith('*') ? 2 : 0);
  return best;
}

/** "host:port" domains match the host without its port (the router compares hosts only). */
function hosts(domains: string[]): string[] | undefined {
  if (domains.length === 0 || domains.includes('*')) return undefined;
  return [...new Set(domains.map((d) => (/^\[.*\]:\d+$|^[^:[\]]+:\d+$/.test(d) ? d.slice(0, d.lastIndexOf(':')).replace(/^\[|\]$/g, '') : d)))];
}

function stringMatch(m: Pb, where: string): { exact?: string; regex?: string } {
  if (m.ignore_case) return reject(where, 'ignore_case is not supported');
  if (m.exact !== undefined) return { exact: m.exact };
  if (m.prefix !== undefined) return { regex: `${escapeRegex(m.prefix)}.*` };
  if (m.suffix !== undefined) return { regex: `.*${escapeRegex(m.suffix)}` };
  if (m.contains !== undefined) return { regex: `.*${escapeRegex(m.contains)}.*` };
  if (m.safe_regex !== undefined) return { regex: m.safe_regex.regex };
  return reject(where, 'this string matcher is not supported');
}

function headerMatch(h: Pb, where: string): Record<string, unknown> {
  const out: Record<string, unknown> = { name: h.name, invert: h.invert_match === true };
  if (h.exact_match !== undefined) out.exact = h.exact_match;
  else if (h.safe_regex_match !== undefined) out.regex = h.safe_regex_match.regex;
  else if (h.present_match !== undefined) out.present = h.present_match;
  else if (h.prefix_match !== undefined) out.regex = `${escapeRegex(h.prefix_match)}.*`;
  else if (h.suffix_match !== undefined) out.regex = `.*${escapeRegex(h.suffix_match)}`;
  else if (h.contains_match !== undefined) out.regex = `.*${escapeRegex(h.contains_match)}.*`;
  else if (h.string_match !== undefined) Object.assign(out, stringMatch(h.string_match, `${where}.string_match`));
  else if (h.range_match !== undefined) reject(where, 'range_match is not supported');
  else out.present = true;
  if (h.treat_missing_header_as_empty) reject(where, 'treat_missing_header_as_empty is not supported');
  return out;
}

function routeMatch(m: Pb, where: string, warn: Warn): Record<string, unknown> {
  if (wrapped<boolean>(m.case_sensitive, true) === false) reject(where, 'case_sensitive: false is not supported');
  for (const f of ['path_separated_prefix', 'connect_matcher', 'path_match_policy', 'query_parameters', 'runtime_fraction', 'dynamic_metadata', 'filter_state', 'tls_context']) if (m[f] !== undefined) reject(where, `${f} is not supported`);
  ignoredFields(m, ['prefix', 'path', 'safe_regex', 'headers', 'grpc', 'case_sensitive'], where, warn);
  const out: Record<string, unknown> = {};
  if (m.prefix !== undefined) {
    if (m.prefix !== '' && m.prefix !== '/') out.pathPrefix = m.prefix;
  } else if (m.path !== undefined) out.path = m.path;
  else if (m.safe_regex !== undefined) out.pathRegex = m.safe_regex.regex;
  else reject(where, 'a prefix, path or safe_regex match is required');
  if (m.headers) out.headers = (m.headers as Pb[]).map((h, i) => headerMatch(h, `${where}.headers[${i}]`));
  if (m.grpc) out.grpc = {};
  return out;
}

function retryPolicy(p: Pb, where: string, warn: Warn): Record<string, unknown> {
  ignoredFields(p, ['retry_on', 'num_retries', 'per_try_timeout', 'retry_back_off', 'retriable_status_codes'], where, warn);
  const retryOn: string[] = [];
  for (const name of String(p.retry_on ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const ours = RETRY_ON[name];
    if (ours === undefined) warn(`${where}: retry_on ${name} is not supported (ignored)`);
    else if (!retryOn.includes(ours)) retryOn.push(ours);
  }
  return {
    attempts: Math.min(10, wrapped<number>(p.num_retries, 1)!),
    retryOn,
    statuses: p.retriable_status_codes ?? [],
    ...(p.per_try_timeout && { perTryTimeout: ms(p.per_try_timeout) }),
    ...(p.retry_back_off?.base_interval && { backoff: ms(p.retry_back_off.base_interval) }),
  };
}

function headersToAdd(list: Pb[] | undefined, where: string, warn: Warn): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of list ?? []) {
    if (h.header?.raw_value !== undefined) warn(`${where}: raw_value headers are not supported (ignored)`);
    else if (h.header?.key) out[String(h.header.key).toLowerCase()] = String(h.header.value ?? '');
  }
  return out;
}

/** The routes of one RouteConfiguration, and the per-route filter configs found on the way. */
export function translateRoutes(rc: Pb, where: string, warn: Warn, perRoute: PerRouteConfig): RouteOut[] {
  ignoredFields(rc, ['name', 'virtual_hosts'], where, warn);
  const vhosts = ((rc.virtual_hosts ?? []) as Pb[]).map((vh, i) => ({ vh, i })).sort((a, b) => domainRank(a.vh.domains ?? []) - domainRank(b.vh.domains ?? []) || a.i - b.i);
  const out: RouteOut[] = [];
  for (const { vh, i } of vhosts) {
    const vwhere = `${where}.virtual_hosts[${i}]`;
    ignoredFields(vh, ['name', 'domains', 'routes', 'retry_policy', 'request_headers_to_add', 'typed_per_filter_config'], vwhere, warn);
    if (vh.require_tls && vh.require_tls !== 'NONE') reject(vwhere, 'require_tls is not supported');
    const host = hosts(vh.domains ?? []);
    const vhHeaders = headersToAdd(vh.request_headers_to_add, vwhere, warn);
    for (const [j, r] of ((vh.routes ?? []) as Pb[]).entries()) {
      const rwhere = `${vwhere}.routes[${j}]`;
      const name = `${vh.name ?? i}/${r.name ?? j}`;
      if (r.direct_response || r.redirect || r.filter_action || r.non_forwarding_action) reject(rwhere, 'only route actions are supported (not direct_response, redirect, filter_action)');
      ignoredFields(r, ['name', 'match', 'route', 'request_headers_to_add', 'typed_per_filter_config', 'decorator'], rwhere, warn);
      const a: Pb = r.route ?? reject(rwhere, 'a route action is required');
      for (const f of ['cluster_header', 'cluster_specifier_plugin', 'inline_cluster_specifier_plugin', 'regex_rewrite', 'path_rewrite_policy', 'host_rewrite_header', 'host_rewrite_path_regex', 'auto_host_rewrite', 'request_mirror_policies', 'upgrade_configs']) {
        if (a[f] !== undefined && !(Array.isArray(a[f]) && a[f].length === 0)) reject(`${rwhere}.route`, `${f} is not supported`);
      }
      ignoredFields(a, ['cluster', 'weighted_clusters', 'timeout', 'retry_policy', 'prefix_rewrite', 'host_rewrite_literal', 'idle_timeout', 'hash_policy', 'max_stream_duration'], `${rwhere}.route`, warn);
      if (a.hash_policy?.length) warn(`${rwhere}.route: hash_policy is not supported (ignored: the cluster's lb policy decides)`);
      const route: RouteOut = { name, match: { ...routeMatch(r.match ?? {}, `${rwhere}.match`, warn), ...(host && { host }) } };
      if (a.cluster !== undefined) route.cluster = a.cluster;
      else if (a.weighted_clusters !== undefined) {
        route.weightedClusters = ((a.weighted_clusters.clusters ?? []) as Pb[]).map((c) => ({ name: c.name, weight: wrapped<number>(c.weight, 0)! }));
        if (route.weightedClusters.length === 0) reject(`${rwhere}.route.weighted_clusters`, 'no clusters');
      } else reject(`${rwhere}.route`, 'a cluster or weighted_clusters is required');
      const timeout = ms(a.timeout);
      if (timeout !== undefined) route.timeout = timeout;
      const retry = a.retry_policy ?? vh.retry_policy;
      if (retry) route.retries = retryPolicy(retry, `${rwhere}.route.retry_policy`, warn);
      if (a.prefix_rewrite !== undefined) route.prefixRewrite = a.prefix_rewrite;
      if (a.host_rewrite_literal !== undefined) route.hostRewrite = a.host_rewrite_literal;
      const headers = { ...vhHeaders, ...headersToAdd(r.request_headers_to_add, rwhere, warn) };
      if (Object.keys(headers).length > 0) route.requestHeaders = headers;
      for (const [filter, config] of Object.entries({ ...(vh.typed_per_filter_config ?? {}), ...(r.typed_per_filter_config ?? {}) })) {
        const list = perRoute.get(filter) ?? [];
        list.push({ route: name, config: config as Pb });
        perRoute.set(filter, list);
      }
      out.push(route);
    }
  }
  return out;
}
