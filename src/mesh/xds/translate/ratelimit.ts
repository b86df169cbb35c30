// envoy.filters.http.local_ratelimit → the proxy.ratelimit filter: the token bucket (max_tokens,
// tokens_per_fill per fill_interval) becomes a rule with burst, rate and per; a route's
// typed_per_filter_config becomes a rule for that route. Envoy enforces only for the fraction
// filter_enabled and filter_enforced give (unset: 0%): 100% of both is enforcing, 0% leaves the
// filter out, anything between is NACKed (no sampling here). Descriptors are NACKed.
import { enumNumber } from '../protos';
import { ignoredFields, ms, type Pb, percent, reject, type Warn, wrapped } from './common';

const KNOWN = ['stat_prefix', 'status', 'token_bucket', 'filter_enabled', 'filter_enforced', 'response_headers_to_add', 'rate_limited_as_resource_exhausted'];

/** The rule of one LocalRateLimit config, or undefined when it does not enforce (it then only counts in Envoy). */
function rule(c: Pb, where: string, warn: Warn): { rule?: Record<string, unknown>; status?: number } {
  if (c.descriptors?.length) reject(where, 'local_ratelimit descriptors are not supported');
  if (c.local_rate_limit_per_downstream_connection) reject(where, 'local_rate_limit_per_downstream_connection is not supported');
  ignoredFields(c, KNOWN, where, warn);
  if (c.response_headers_to_add?.length) warn(`${where}: response_headers_to_add is not supported (ignored)`);
  const enabled = percent(c.filter_enabled) ?? 0;
  const enforced = percent(c.filter_enforced) ?? 0;
  for (const [name, p] of [['filter_enabled', enabled], ['filter_enforced', enforced]] as const) if (p !== 0 && p !== 100) reject(where, `${name} of ${p}% is not supported (0% or 100%)`);
  const status = c.status?.code !== undefined ? enumNumber('envoy.type.v3.StatusCode', c.status.code) : undefined;
  if (enabled === 0 || enforced === 0) {
    if (c.token_bucket) warn(`${where}: not enforced (filter_enabled ${enabled}%, filter_enforced ${enforced}%): left out`);
    return { status };
  }
  const b = c.token_bucket ?? reject(where, 'token_bucket is required when the filter is enforced');
  const fill = ms(b.fill_interval) ?? reject(where, 'token_bucket.fill_interval is required');
  return { rule: { rate: wrapped<number>(b.tokens_per_fill, 1), per: fill, burst: Number(b.max_tokens) }, status };
}

/** The proxy.ratelimit filter spec, or undefined when nothing is enforced. `perRoute`: the routes' own configs (they replace the listener's bucket on those routes). */
export function translateLocalRateLimit(config: Pb, perRoute: { route: string; config: Pb }[], where: string, warn: Warn): Record<string, unknown> | undefined {
  const top = rule(config, `${where}.typed_config`, warn);
  const rules: Record<string, unknown>[] = [];
  for (const r of perRoute) {
    const own = rule(r.config, `${where}: route ${r.route} typed_per_filter_config`, warn);
    if (own.rule) rules.push({ ...own.rule, route: r.route });
  }
  if (top.rule) {
    if (rules.length > 0) warn(`${where}: routes with their own bucket also count against the listener's bucket (it is shared by every route here)`);
    rules.push(top.rule);
  }
  if (rules.length === 0) return undefined;
  return { type: 'proxy.ratelimit', config: { rules, ...(top.status !== undefined && { status: top.status }) } };
}
