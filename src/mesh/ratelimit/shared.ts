// A limit shared by several sidecars: rate-limiter-flexible's RateLimiterRedis counts in Redis
// atomically (one Lua INCR + TTL per request, fixed windows of whole seconds). While Redis is
// unreachable each sidecar falls back to the same limit counted locally, rather than failing open
// or refusing everything.
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { closeRedis, connectRedis, parseRedisMetadata } from '../../components/common/redis';
import type { RateLimiter } from './limiter';

export interface SharedLimit {
  /** Requests admitted per window, across every sidecar using the same Redis keys. */
  points: number;
  windowSec: number;
  /** Namespaces the counters in Redis; sidecars that share a limit use the same prefix. */
  keyPrefix: string;
}

/** One limit counted in Redis; the client is the caller's (several limits may share it). */
export class RedisLimiter implements RateLimiter {
  private readonly limiter: RateLimiterRedis;

  constructor(client: Redis, limit: SharedLimit) {
    const base = { points: limit.points, duration: limit.windowSec, keyPrefix: limit.keyPrefix };
    this.limiter = new RateLimiterRedis({ ...base, storeClient: client, rejectIfRedisNotReady: true, insuranceLimiter: new RateLimiterMemory(base) });
  }

  async take(key: string): Promise<boolean> {
    try {
      await this.limiter.consume(key, 1);
      return true;
    } catch (e) {
      if (e instanceof RateLimiterRes) return false;
      throw e;
    }
  }
}

/**
 * A rate in requests per second as whole-second windows with whole points (what Redis counters
 * hold): 100/s → 100 per 1 s; 0.5/s → 1 per 2 s.
 */
export function windowsFor(perSecond: number): { points: number; windowSec: number } {
  const windowSec = perSecond >= 1 ? 1 : Math.ceil(1 / perSecond);
  return { points: Math.max(1, Math.round(perSecond * windowSec)), windowSec };
}

/** Connects with the Redis components' metadata (redisHost, redisPassword, redisDB, enableTLS...). */
export function connectShared(props: Record<string, string>, what: string): Promise<Redis> {
  return connectRedis(parseRedisMetadata(props), what);
}

export { closeRedis as closeShared };
