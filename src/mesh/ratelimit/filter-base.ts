// What the rate-limit filters share: a limiter, how a request maps to its key, and the fixed
// answer for a refused request. A shared (Redis) limiter answers asynchronously; a local one
// synchronously, so the common case allocates no promise.
import type { Api, Exchange, Filter, LocalReply, Verdict } from '../filter';
import type { RateLimiter } from './limiter';

export interface LimitFilter extends Filter {
  /** Releases the Redis connection of a shared limit. */
  close(): Promise<void>;
}

export interface LimitFilterOptions {
  name: string;
  apis: readonly Api[];
  /** The limiter and key for a request; undefined = not limited. */
  select: (ex: Exchange) => { limiter: RateLimiter; key: string } | undefined;
  reply: LocalReply;
  close?: () => Promise<void>;
}

export function limitFilter(o: LimitFilterOptions): LimitFilter {
  const { reply, select } = o;
  return {
    name: o.name,
    apis: o.apis,
    onRequest(ex: Exchange): Verdict | Promise<Verdict> {
      const s = select(ex);
      if (!s) return undefined;
      const ok = s.limiter.take(s.key);
      if (typeof ok === 'boolean') return ok ? undefined : reply;
      return ok.then((admitted) => (admitted ? undefined : reply));
    },
    close: o.close ?? (async () => undefined),
  };
}
