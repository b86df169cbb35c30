// An ordered chain of filters (MOSN's StreamFilterChain): onRequest in order until one stops,
// onResponse on every filter that saw the request, in reverse order.
import type { Api, Exchange, Filter, Verdict } from './filter';

export class FilterChain {
  private readonly byApi = new Map<Api, Filter[]>();

  constructor(readonly filters: readonly Filter[]) {}

  /** The filters that apply to one API (cached: this is on every request's path). */
  for(api: Api): Filter[] {
    let list = this.byApi.get(api);
    if (!list) this.byApi.set(api, (list = this.filters.filter((f) => !f.apis || f.apis.includes(api))));
    return list;
  }

  /** True when no filter applies to the API, so servers can skip building an exchange at all. */
  isEmpty(api: Api): boolean {
    return this.for(api).length === 0;
  }

  /** Runs onRequest in order; the first local reply stops the chain and is returned. */
  async request(ex: Exchange): Promise<Verdict> {
    for (const f of this.for(ex.api)) {
      if (!f.onRequest) continue;
      const v = await f.onRequest(ex);
      if (v) return v;
    }
    return undefined;
  }

  /** Runs onResponse on every filter, last first; a throwing filter cannot break the others. */
  response(ex: Exchange): void {
    const list = this.for(ex.api);
    for (let i = list.length - 1; i >= 0; i--) {
      try {
        list[i]!.onResponse?.(ex);
      } catch {
        // observation must never fail a request
      }
    }
  }
}

export const EMPTY_CHAIN = new FilterChain([]);
