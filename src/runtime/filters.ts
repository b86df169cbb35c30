// The one place that decides which filters every API server runs, and in which order: metrics
// first (it times the whole exchange, stopped ones included), then tracing, then the API token
// (daprd checks it after tracing and metrics), then the in-flight cap, then API logging, then
// limits. Each feature adds its line here; the servers only run the chain they are given.
import type { Logger } from 'pino';
import type { Flags } from '../cli/flags';
import type { RuntimeConfiguration } from '../config/configuration';
import { FilterChain } from '../mesh/chain';
import type { Filter } from '../mesh/filter';
import type { SidecarMetrics } from '../observability/metrics';
import { apiLogFilter } from '../mesh/filters/api-log';
import { scoped } from '../observability/logger';
import { type PipelineContext, pipelineFilters } from './pipeline';
import { tracingFilter } from '../mesh/filters/tracing';
import { apiTokenFilter } from '../mesh/filters/api-token';
import { concurrencyFilter, type InFlightLimit } from '../mesh/filters/concurrency';
import { tracing } from '../core/trace';

export interface FilterChainContext {
  flags: Flags;
  config: RuntimeConfiguration;
  appId: string;
  namespace: string;
  log: Logger;
  metrics?: SidecarMetrics;
  /** DAPR_API_TOKEN: every API call must carry it (unset or empty: no authentication, as daprd). */
  apiToken?: string;
  /** Middleware components, Layotto's stream_filters and how to resolve metadata: the limits' input. */
  middleware?: Pick<PipelineContext, 'components' | 'streamFilters' | 'properties'>;
  /** --max-concurrent-requests' count when others (the gRPC proxy) share it; else one is made from the flags. */
  inFlight?: InFlightLimit;
}

export async function buildFilterChain(ctx: FilterChainContext): Promise<FilterChain> {
  const filters: (Filter | undefined)[] = [
    // metrics, tracing, api token, in-flight cap, api logging, limits: one line each, in this order
    ctx.metrics?.filter,
    tracing() ? tracingFilter() : undefined, // the provider was built from config.tracing at startup
    ctx.apiToken ? apiTokenFilter(ctx.apiToken) : undefined,
    ctx.inFlight ? concurrencyFilter(ctx.inFlight) : ctx.flags.limits.maxConcurrentRequests > 0 ? concurrencyFilter(ctx.flags.limits.maxConcurrentRequests) : undefined,
    apiLogging(ctx),
    ...(ctx.middleware ? await pipelineFilters({ ...ctx, ...ctx.middleware, log: scoped(ctx.log, 'dapr.runtime.middleware') }) : []), // rate limits
  ];
  return new FilterChain(filters.filter((f): f is Filter => f !== undefined));
}

/** --enable-api-logging when given, else Configuration logging.apiLogging.enabled (daprd's order). */
function apiLogging(ctx: FilterChainContext): Filter | undefined {
  const cfg = ctx.config.logging?.apiLogging;
  if (!(ctx.flags.enableApiLogging ?? cfg?.enabled ?? false)) return undefined;
  return apiLogFilter(ctx.log, { obfuscateURLs: cfg?.obfuscateURLs ?? false, omitHealthChecks: cfg?.omitHealthChecks ?? false });
}
