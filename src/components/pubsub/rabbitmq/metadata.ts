// pubsub.rabbitmq component metadata, contrib's names and code defaults (durable and
// deletedWhenUnused default to true in contrib's code, whatever its metadata.yaml says: declaring
// the same exchange/queue with other flags would fail against a broker shared with daprd).
import { z } from 'zod';
import { durationMs, parseMetadata } from '../../metadata';
import { ComponentConfigError } from '../../types';

const flag = (dflt: boolean) => z.stringbool().default(dflt);
const count = () => z.coerce.number().int().min(0);

const schema = z.object({
  consumerID: z.string().optional(),
  connectionString: z.string().optional(),
  /** Deprecated spelling of connectionString. */
  host: z.string().optional(),
  protocol: z.enum(['amqp', 'amqps']).optional(),
  hostname: z.string().default('localhost'),
  username: z.string().optional(),
  password: z.string().optional(),
  durable: flag(true),
  deletedWhenUnused: flag(true),
  autoAck: flag(false),
  requeueInFailure: flag(false),
  enableDeadLetter: flag(false),
  deliveryMode: count().max(2).default(0),
  prefetchCount: count().max(65535).default(0),
  reconnectWaitSeconds: durationMs().optional(),
  /** The name contrib's conformance config (and older docs) use. */
  reconnectWait: durationMs().optional(),
  maxLen: count().optional(),
  maxLenBytes: count().optional(),
  exchangeKind: z.enum(['fanout', 'topic', 'direct', 'headers']).default('fanout'),
  ttlInSeconds: z.coerce.number().int().positive().optional(),
  clientName: z.string().optional(),
  heartBeat: durationMs().default(10000),
  concurrencyMode: z.enum(['parallel', 'single']).optional(),
  concurrency: z.enum(['parallel', 'single']).optional(),
  publishMessagePropertiesToMetadata: flag(false),
  caCert: z.string().optional(),
  clientCert: z.string().optional(),
  clientKey: z.string().optional(),
  saslExternal: flag(false),
});

type Parsed = z.infer<typeof schema>;
/** Fields consumed while building the URL and the merged ones; the rest passes through. */
type Consumed = 'connectionString' | 'host' | 'protocol' | 'hostname' | 'username' | 'password' | 'heartBeat' | 'reconnectWaitSeconds' | 'reconnectWait' | 'concurrencyMode' | 'concurrency';

export interface RabbitMQConfig extends Omit<Parsed, Consumed> {
  /** What amqplib dials (credentials included, heartbeat set). */
  url: string;
  /** The same without credentials, for error messages. */
  address: string;
  reconnectWaitMs: number;
  concurrency: 'parallel' | 'single';
}

const DEFAULT_RECONNECT_WAIT_MS = 3000;

export function parseRabbitMQMetadata(props: Record<string, string>): RabbitMQConfig {
  const m = parseMetadata(schema, props);
  if (m.saslExternal && !(m.caCert && m.clientCert && m.clientKey)) {
    throw new ComponentConfigError('metadata field "saslExternal": needs caCert, clientCert and clientKey', 'saslExternal');
  }
  const url = connectionUrl(m);
  const { connectionString, host, protocol, hostname, username, password, heartBeat, reconnectWaitSeconds, reconnectWait, concurrencyMode, concurrency, ...rest } = m;
  return {
    ...rest,
    url: url.href,
    address: `${url.protocol}//${url.host}${url.pathname.length > 1 ? url.pathname : ''}`,
    reconnectWaitMs: reconnectWaitSeconds ?? reconnectWait ?? DEFAULT_RECONNECT_WAIT_MS,
    concurrency: concurrencyMode ?? concurrency ?? 'parallel',
  };
}

/** connectionString (or legacy host), else protocol://username:password@hostname; heartbeat added. */
function connectionUrl(m: Parsed): URL {
  const given = m.connectionString ?? m.host;
  const field = m.connectionString ? 'connectionString' : m.host ? 'host' : 'hostname';
  let url: URL;
  try {
    url = new URL(given ?? `${m.protocol ?? 'amqp'}://${m.hostname}`);
  } catch {
    throw new ComponentConfigError(`metadata field "${field}": invalid address "${redact(given ?? m.hostname)}"`, field);
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== 'amqp' && scheme !== 'amqps') {
    throw new ComponentConfigError(`metadata field "${field}": scheme must be amqp or amqps, got "${scheme}"`, field);
  }
  if (given && m.protocol && m.protocol !== scheme) {
    throw new ComponentConfigError(`metadata field "protocol": "${m.protocol}" does not match the connection string's "${scheme}"`, 'protocol');
  }
  if (!given && m.username) {
    url.username = encodeURIComponent(m.username);
    if (m.password) url.password = encodeURIComponent(m.password);
  }
  // amqplib negotiates heartbeats in whole seconds; a URL that sets one keeps it.
  if (!url.searchParams.has('heartbeat')) url.searchParams.set('heartbeat', String(Math.round(m.heartBeat / 1000)));
  return url;
}

const redact = (s: string) => s.replace(/\/\/[^@/]*@/, '//***@');
