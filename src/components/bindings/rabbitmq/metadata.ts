// bindings.rabbitmq metadata, contrib's names and defaults (bindings/rabbitmq): `host` is the AMQP
// URL, one queue (queueName) is both what `create` publishes to and what the input side consumes.
// The queue's flags default to false here (unlike pub/sub's), and ttlInSeconds/maxPriority become
// its x-message-ttl / x-max-priority arguments.
import { z } from 'zod';
import { durationMs, parseMetadata } from '../../metadata';
import { ComponentConfigError } from '../../types';
import type { SessionConfig } from '../../pubsub/rabbitmq/session';

const flag = () => z.stringbool().default(false);

const schema = z.object({
  host: z.string({ error: 'missing host address' }),
  queueName: z.string({ error: 'missing queue name' }),
  durable: flag(),
  deleteWhenUnused: flag(),
  exclusive: flag(),
  prefetchCount: z.coerce.number().int().min(0).max(65535).default(0),
  maxPriority: z.coerce.number().int().min(0).optional(),
  ttlInSeconds: z.coerce.number().int().min(0).optional(),
  contentType: z.string().default('text/plain'),
  reconnectWaitInSeconds: durationMs().default(5000),
  caCert: z.string().optional(),
  clientCert: z.string().optional(),
  clientKey: z.string().optional(),
  /** The name contrib's code reads; its metadata.yaml says externalSasl. */
  saslExternal: z.stringbool().optional(),
  externalSasl: z.stringbool().optional(),
});

export interface RabbitMQBindingConfig extends SessionConfig {
  queueName: string;
  durable: boolean;
  deleteWhenUnused: boolean;
  exclusive: boolean;
  prefetchCount: number;
  /** Queue arguments: x-message-ttl (ms), x-max-priority. */
  queueArgs: Record<string, number>;
  contentType: string;
}

export function parseRabbitMQBindingMetadata(props: Record<string, string>): RabbitMQBindingConfig {
  const m = parseMetadata(schema, props);
  let url: URL;
  try {
    url = new URL(m.host);
  } catch {
    throw new ComponentConfigError(`metadata field "host": invalid address "${m.host.replace(/\/\/[^@/]*@/, '//***@')}"`, 'host');
  }
  if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:') {
    throw new ComponentConfigError(`metadata field "host": scheme must be amqp or amqps, got "${url.protocol.slice(0, -1)}"`, 'host');
  }
  // amqp091-go's default heartbeat; a URL that sets one keeps it.
  if (!url.searchParams.has('heartbeat')) url.searchParams.set('heartbeat', '10');
  const queueArgs: Record<string, number> = {};
  if (m.ttlInSeconds !== undefined) queueArgs['x-message-ttl'] = m.ttlInSeconds * 1000;
  // contrib clamps an overflowing priority to 255.
  if (m.maxPriority !== undefined) queueArgs['x-max-priority'] = Math.min(m.maxPriority, 255);
  return {
    url: url.href,
    address: `${url.protocol}//${url.host}${url.pathname.length > 1 ? url.pathname : ''}`,
    reconnectWaitMs: m.reconnectWaitInSeconds,
    caCert: m.caCert,
    clientCert: m.clientCert,
    clientKey: m.clientKey,
    saslExternal: m.saslExternal ?? m.externalSasl ?? false,
    queueName: m.queueName,
    durable: m.durable,
    deleteWhenUnused: m.deleteWhenUnused,
    exclusive: m.exclusive,
    prefetchCount: m.prefetchCount,
    queueArgs,
    contentType: m.contentType,
  };
}
