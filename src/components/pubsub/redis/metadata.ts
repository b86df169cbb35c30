// pubsub.redis metadata: contrib's pub/sub-only settings on top of the shared Redis connection
// fields. Defaults are contrib's code (processingTimeout 60s, redeliverInterval 15s; its
// metadata.yaml says the reverse), and a bare number is milliseconds for the two redelivery
// durations, as contrib reads them for legacy reasons.
import { z } from 'zod';
import { parseRedisMetadata, type RedisConfig } from '../../common/redis';
import { durationMs, parseDuration, parseMetadata } from '../../metadata';

/** A Go duration string, or a bare integer meaning milliseconds. */
const msOrDuration = () =>
  z.string().transform((v, ctx) => {
    if (/^\d+$/.test(v)) return Number(v);
    try {
      return parseDuration(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });

const schema = z.object({
  consumerID: z.string({ error: 'consumerID is required (the consumer group name)' }),
  /** How often pending entries are checked for redelivery; 0 disables redelivery. */
  redeliverInterval: msOrDuration().default(15000),
  /** How long an entry stays unacknowledged before it is redelivered; 0 disables redelivery. */
  processingTimeout: msOrDuration().default(60000),
  queueDepth: z.coerce.number().int().min(1).default(100),
  concurrency: z.coerce.number().int().min(1).default(10),
  /** XADD MAXLEN ~ n; 0 or unset keeps every entry. */
  maxLenApprox: z.coerce.number().int().min(0).default(0),
  /** XADD MINID ~ (now - streamTTL); ignored when maxLenApprox is set (Redis takes one strategy). */
  streamTTL: durationMs().optional(),
});

export interface StreamsConfig extends z.infer<typeof schema> {
  redis: RedisConfig;
}

export function parseStreamsMetadata(props: Record<string, string>): StreamsConfig {
  return { ...parseMetadata(schema, props), redis: parseRedisMetadata(props) };
}

/** Redelivery runs only when both durations are non-zero (contrib). */
export const redeliveryEnabled = (c: StreamsConfig): boolean => c.redeliverInterval > 0 && c.processingTimeout > 0;
