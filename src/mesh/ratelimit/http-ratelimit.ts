// daprd's middleware.http.ratelimit (components-contrib, over tollbooth): at most
// maxRequestsPerSecond per client IP and URL path, a token bucket of that size, and the same
// answer when over it: 429, text/plain, "You have reached maximum request limit.".
// Our addition: with redisHost set, the limit is counted in Redis and shared by every sidecar
// using the same keyPrefix (whole-second windows instead of a bucket).
import { z } from 'zod';
import { parseMetadata } from '../../components/metadata';
import type { FilterFactory } from '../registry';
import { limitFilter, type LimitFilter } from './filter-base';
import { KeyedLimiter } from './keyed';
import { keyBy } from './keys';
import type { Clock, RateLimiter } from './limiter';
import { closeShared, connectShared, RedisLimiter, windowsFor } from './shared';
import { TokenBucket } from './token-bucket';

export const HTTP_RATELIMIT_TYPE = 'middleware.http.ratelimit';

const schema = z.object({
  maxRequestsPerSecond: z.coerce.number().refine((v) => v > 0 && Number.isFinite(v), 'must be a positive value').default(100),
  redisHost: z.string().optional(),
  keyPrefix: z.string().default('layotto-ts:ratelimit'),
});

export const LIMITED_BODY = 'You have reached maximum request limit.';
const RESOURCE_EXHAUSTED = 8;

export const httpRateLimit: FilterFactory = (settings) => createHttpRateLimit(settings as Record<string, string>);

/** The filter from the component's metadata; `clock` is for tests. */
export async function createHttpRateLimit(props: Record<string, string>, clock?: Clock): Promise<LimitFilter> {
  const md = parseMetadata(schema, props);
  const rate = md.maxRequestsPerSecond;
  const key = keyBy(['client', 'path']);
  let limiter: RateLimiter;
  let close: (() => Promise<void>) | undefined;
  if (md.redisHost) {
    const client = await connectShared(props, 'ratelimit');
    limiter = new RedisLimiter(client, { ...windowsFor(rate), keyPrefix: md.keyPrefix });
    close = () => closeShared(client);
  } else {
    // tollbooth sizes the bucket to the rate (at least 1): a full second's worth may come at once.
    const burst = Math.max(1, Math.floor(rate));
    limiter = new KeyedLimiter((now) => new TokenBucket(rate, burst, now), { clock });
  }
  return limitFilter({
    name: HTTP_RATELIMIT_TYPE,
    apis: ['dapr-http'],
    select: (ex) => ({ limiter, key: key(ex) }),
    reply: {
      http: { status: 429, body: LIMITED_BODY, contentType: 'text/plain; charset=utf-8', headers: { 'X-Rate-Limit-Limit': rate.toFixed(2), 'X-Rate-Limit-Duration': '1' } },
      grpc: { code: RESOURCE_EXHAUSTED, details: LIMITED_BODY },
    },
    close,
  });
}
