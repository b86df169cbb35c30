// Filter types by name (Envoy's and MOSN's filter factories): configuration names a type and gives
// its settings; the factory validates them and builds the filter.
import type { Logger } from 'pino';
import type { Filter } from './filter';

/** What a factory may use besides its own settings. */
export interface FilterContext {
  appId: string;
  log: Logger;
  /** The sidecar's Prometheus registry when metrics are on (the proxy's metrics filter adds its families there). */
  metrics?: import('prom-client').Registry;
}

export type FilterFactory = (settings: Record<string, unknown>, ctx: FilterContext) => Filter | Promise<Filter>;

export class FilterRegistry {
  private readonly factories = new Map<string, FilterFactory>();

  register(type: string, factory: FilterFactory): void {
    if (this.factories.has(type)) throw new Error(`filter type ${type} is registered twice`);
    this.factories.set(type, factory);
  }

  async create(type: string, settings: Record<string, unknown>, ctx: FilterContext): Promise<Filter> {
    const f = this.factories.get(type);
    if (!f) throw new Error(`unknown filter type "${type}" (known: ${[...this.factories.keys()].sort().join(', ') || 'none'})`);
    return f(settings, ctx);
  }

  types(): string[] {
    return [...this.factories.keys()].sort();
  }
}

export const filterRegistry = new FilterRegistry();
