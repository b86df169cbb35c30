// Middleware pipelines as filters. daprd's model: a Configuration's spec.httpPipeline names
// middleware components (kind Component, spec.type middleware.http.*) in order, and they wrap the
// Dapr HTTP API; spec.grpcPipeline (ours) does the same for the Dapr and Layotto gRPC APIs. Each
// component becomes the filter registered under its spec.type. Layotto's config.json
// stream_filters (flowControlFilter) become filters on the gRPC APIs the same way.
import type { Logger } from 'pino';
import type { PipelineHandler, RuntimeConfiguration } from '../config/configuration';
import { ComponentConfigError } from '../components/types';
import { filterRegistry } from '../mesh/builtin';
import type { Api, Filter } from '../mesh/filter';
import type { FilterContext } from '../mesh/registry';
import { type LoadedComponent, ManifestError } from './loader';
import { lineOfMetadata, skipReason } from './processor';

export interface PipelineContext {
  config: RuntimeConfiguration;
  /** Every loaded component manifest; the middleware ones are picked out here. */
  components: readonly LoadedComponent[];
  /** Layotto's runtime-listener stream_filters; types with no registered filter are someone else's. */
  streamFilters?: readonly { type: string; config?: unknown }[];
  /** Resolves a manifest's metadata (envRef, secretKeyRef), as for any component. */
  properties: (item: LoadedComponent) => Promise<Record<string, string>>;
  appId: string;
  namespace: string;
  log: Logger;
}

const PIPELINES = [
  { key: 'httpPipeline', apis: ['dapr-http'] },
  { key: 'grpcPipeline', apis: ['dapr-grpc', 'layotto-grpc'] },
] as const;
const LAYOTTO_APIS: readonly Api[] = ['layotto-grpc', 'dapr-grpc'];

export async function pipelineFilters(ctx: PipelineContext): Promise<Filter[]> {
  const fctx: FilterContext = { appId: ctx.appId, log: ctx.log };
  const out: Filter[] = [];
  try {
    for (const { key, apis } of PIPELINES) {
      for (const h of ctx.config[key] ?? []) {
        const item = findMiddleware(ctx, h);
        if (!item) {
          throw new ManifestError(h.file, h.line, `spec.${key}.handlers`, `couldn't find middleware component with name ${h.name} and type ${h.type}/${h.version || 'v1'}`);
        }
        const f = only(await create(item, await ctx.properties(item), fctx), apis);
        out.push(f);
        if (f.apis!.length === 0) ctx.log.warn(`${key}: middleware ${h.name} (${h.type}) does not apply to the ${apis.join(', ')} API; it has no effect there`);
        else ctx.log.info(`${key}: middleware ${h.name} (${h.type}) added`);
      }
    }
    for (const sf of ctx.streamFilters ?? []) {
      if (!filterRegistry.types().includes(sf.type)) continue;
      out.push(only(await filterRegistry.create(sf.type, (sf.config ?? {}) as Record<string, unknown>, fctx), LAYOTTO_APIS));
    }
  } catch (e) {
    await Promise.all(out.map((f) => f.close?.()));
    throw e;
  }
  return out;
}

/** The manifest a handler names: same name and type (and version when given), loaded by this app. */
function findMiddleware(ctx: PipelineContext, h: PipelineHandler): LoadedComponent | undefined {
  return ctx.components.find(({ manifest: m }) => {
    if (m.metadata.name !== h.name || m.spec.type.toLowerCase() !== h.type.toLowerCase()) return false;
    if (h.version && (m.spec.version || 'v1') !== h.version) return false;
    return !skipReason(m, ctx.appId, ctx.namespace);
  });
}

/** Builds one middleware component's filter; a bad setting points at its metadata entry. */
async function create(item: LoadedComponent, props: Record<string, string>, fctx: FilterContext): Promise<Filter> {
  const { manifest: m, file } = item;
  const type = m.spec.type.toLowerCase();
  if (!filterRegistry.types().includes(type)) {
    throw new ManifestError(file, item.lineOf(['spec', 'type']), 'spec.type', `couldn't find middleware type ${m.spec.type} (known: ${filterRegistry.types().filter((t) => t.startsWith('middleware.')).join(', ')})`);
  }
  try {
    return await filterRegistry.create(type, props, fctx);
  } catch (e) {
    const field = e instanceof ComponentConfigError ? e.field : undefined;
    throw new ManifestError(file, field ? lineOfMetadata(item, field) : item.line, field ? `spec.metadata.${field}` : 'spec', `component ${m.metadata.name} (${m.spec.type}) failed to initialize: ${(e as Error).message}`);
  }
}

/** The filter restricted to some APIs (a pipeline's place decides where it runs, not its type). */
function only(f: Filter, apis: readonly Api[]): Filter {
  const allowed = f.apis ? apis.filter((a) => f.apis!.includes(a)) : apis;
  return Object.assign(Object.create(f) as Filter, { apis: allowed });
}
