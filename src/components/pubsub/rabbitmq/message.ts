// Between PublishRequest / PubSubMessage and AMQP properties, as contrib does it: the body is
// the bytes as given; request metadata may set contentType, messageId, correlationId, type,
// priority and ttlInSeconds (-> per-message expiration); the subscriber sees the AMQP
// properties and headers as "metadata.*" only with publishMessagePropertiesToMetadata.
import type { ConsumeMessage, Options } from 'amqplib';
import { prop } from '../metadata';
import type { PublishRequest, PubSubMessage } from '../types';
import type { RabbitMQConfig } from './metadata';

type PublishSettings = Pick<RabbitMQConfig, 'deliveryMode' | 'ttlInSeconds'>;

export function publishOptions(req: PublishRequest, cfg: PublishSettings): Options.Publish {
  const md = req.metadata;
  const ttl = positiveInt(prop(md, 'ttlInSeconds')) ?? cfg.ttlInSeconds;
  const priority = positiveInt(prop(md, 'priority'));
  return {
    contentType: prop(md, 'contentType') || req.contentType || 'text/plain',
    messageId: prop(md, 'messageId') || undefined,
    correlationId: prop(md, 'correlationId') || undefined,
    type: prop(md, 'type') || undefined,
    priority: priority === undefined ? undefined : Math.min(priority, 255),
    deliveryMode: cfg.deliveryMode || undefined,
    // RabbitMQ wants milliseconds, as a string.
    expiration: ttl === undefined ? undefined : String(ttl * 1000),
  };
}

/** Binding key for topic/direct exchanges (request metadata routingKey). */
export const routingKey = (req: PublishRequest): string => prop(req.metadata, 'routingKey') ?? '';

export function toPubSubMessage(topic: string, msg: ConsumeMessage, withProperties: boolean): PubSubMessage {
  const p = msg.properties;
  return {
    topic,
    data: msg.content,
    contentType: p.contentType ? String(p.contentType) : undefined,
    metadata: withProperties ? propertiesToMetadata(msg) : {},
  };
}

function propertiesToMetadata(msg: ConsumeMessage): Record<string, string> {
  const p = msg.properties;
  const md: Record<string, string> = {};
  const put = (k: string, v: unknown) => {
    if (v !== undefined && v !== null && v !== '') md[`metadata.${k}`] = Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'object' ? JSON.stringify(v) : String(v);
  };
  put('messageid', p.messageId);
  put('correlationid', p.correlationId);
  put('type', p.type);
  put('contenttype', p.contentType);
  for (const [k, v] of Object.entries(p.headers ?? {})) put(k, v);
  return md;
}

/** An integer > 0, or undefined: contrib ignores a malformed per-request value. */
function positiveInt(v: string | undefined): number | undefined {
  if (!v || !/^\d+$/.test(v)) return undefined;
  const n = Number(v);
  return n > 0 ? n : undefined;
}
