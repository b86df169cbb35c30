// Redis connection metadata shared by the Redis components (contrib's common redis Settings).
// keyPrefix and actorStateStore are runtime-level and deliberately not read here.
import { z } from 'zod';
import { durationMs, parseMetadata } from '../metadata';
import { ComponentConfigError } from '../types';

const schema = z.object({
  redisHost: z.string({ error: 'redisHost is required' }),
  redisPort: z.coerce.number().int().positive().optional(),
  redisPassword: z.string().optional(),
  redisUsername: z.string().optional(),
  redisDB: z.coerce.number().int().min(0).default(0),
  enableTLS: z.stringbool().default(false),
  redisMaxRetries: z.coerce.number().int().min(0).default(3),
  dialTimeout: durationMs().default(5000),
  /** Per-command deadline; go-redis's default (3 s) when unset, so a stalled server fails calls instead of hanging them. */
  readTimeout: durationMs().default(3000),
  /** Default TTL for every write without its own ttlInSeconds. */
  ttlInSeconds: z.coerce.number().int().min(-1).optional(),
});

export interface RedisConfig extends Omit<z.infer<typeof schema>, 'redisHost' | 'redisPort'> {
  host: string;
  port: number;
}

export function parseRedisMetadata(props: Record<string, string>): RedisConfig {
  const { redisHost, redisPort, ...rest } = parseMetadata(schema, props);
  const { host, port } = splitHostPort(redisHost, redisPort ?? 6379);
  return { ...rest, host, port };
}

/** "host:port", "[::1]:6379" or a bare host. */
function splitHostPort(value: string, defaultPort: number): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(value) ?? /^([^:]+)(?::(\d+))?$/.exec(value);
  if (!m) throw new ComponentConfigError(`metadata field "redisHost": invalid address "${value}" (want host:port)`, 'redisHost');
  const port = m[2] ? Number(m[2]) : defaultPort;
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new ComponentConfigError(`metadata field "redisHost": invalid port in "${value}"`, 'redisHost');
  return { host: m[1]!, port };
}
