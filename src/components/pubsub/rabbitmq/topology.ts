// How topics map onto RabbitMQ, as contrib lays them out so daprd and this sidecar can share a
// broker: one exchange per topic (named after it), one queue per consumer id bound to it
// ("{consumerID}-{topic}" unless the subscription names a queueName), and with enableDeadLetter a
// fanout exchange "dlx-{queue}" feeding a lazy durable queue "dlq-{queue}".
import type { Channel, Options } from 'amqplib';
import { prop } from '../metadata';
import type { RabbitMQConfig } from './metadata';

type ExchangeSettings = Pick<RabbitMQConfig, 'exchangeKind' | 'durable' | 'deletedWhenUnused'>;

export interface QueueSpec {
  topic: string;
  queue: string;
  /** Binding keys; [""] binds with the empty key (all a fanout exchange needs). */
  routingKeys: string[];
  args: Record<string, string | number | boolean>;
}

/** Validates the subscription metadata and names the queue; throws on values contrib rejects. */
export function queueSpec(cfg: RabbitMQConfig, topic: string, md: Record<string, string>): QueueSpec {
  let queue = prop(md, 'queueName');
  if (!queue) {
    if (!cfg.consumerID) throw new Error('rabbitmq pub/sub: consumerID is required for subscriptions that do not set queueName');
    queue = `${cfg.consumerID}-${topic}`;
  }
  const queueType = prop(md, 'queueType') || 'classic';
  if (queueType !== 'classic' && queueType !== 'quorum') {
    throw new Error(`rabbitmq pub/sub: invalid queue type "${queueType}" for ${topic} (classic or quorum)`);
  }
  const args: QueueSpec['args'] = { 'x-queue-type': queueType, ...lengthArgs(cfg) };
  const maxPriority = uint(md, 'maxPriority');
  if (maxPriority !== undefined) args['x-max-priority'] = Math.min(maxPriority, 255);
  if (isTruthy(prop(md, 'singleActiveConsumer'))) args['x-single-active-consumer'] = true;
  const maxLen = uint(md, 'maxLen');
  if (maxLen !== undefined) args['x-max-length'] = maxLen;
  const maxLenBytes = uint(md, 'maxLenBytes');
  if (maxLenBytes !== undefined) args['x-max-length-bytes'] = maxLenBytes;
  return { topic, queue, routingKeys: (prop(md, 'routingKey') ?? '').split(','), args };
}

export const deadLetterNames = (queue: string) => ({ exchange: `dlx-${queue}`, queue: `dlq-${queue}` });

export async function declareExchange(ch: Channel, topic: string, cfg: ExchangeSettings): Promise<void> {
  await ch.assertExchange(topic, cfg.exchangeKind, { durable: cfg.durable, autoDelete: cfg.deletedWhenUnused });
}

/** Exchange, dead-letter pair (when enabled), queue and bindings for one subscription. */
export async function declareQueue(ch: Channel, spec: QueueSpec, cfg: RabbitMQConfig): Promise<void> {
  await declareExchange(ch, spec.topic, cfg);
  const args = { ...spec.args };
  if (cfg.enableDeadLetter) {
    const dl = deadLetterNames(spec.queue);
    // Always durable, whatever `durable` says: dead letters are what one wants to keep.
    await ch.assertExchange(dl.exchange, 'fanout', { durable: true, autoDelete: cfg.deletedWhenUnused });
    await ch.assertQueue(dl.queue, queueOptions(true, cfg, { ...lengthArgs(cfg), 'x-queue-mode': 'lazy' }));
    await ch.bindQueue(dl.queue, dl.exchange, '');
    args['x-dead-letter-exchange'] = dl.exchange;
  }
  await ch.assertQueue(spec.queue, queueOptions(cfg.durable, cfg, args));
  for (const key of spec.routingKeys) await ch.bindQueue(spec.queue, spec.topic, key);
}

const queueOptions = (durable: boolean, cfg: RabbitMQConfig, args: QueueSpec['args']): Options.AssertQueue => ({
  durable,
  autoDelete: cfg.deletedWhenUnused,
  arguments: args,
});

function lengthArgs(cfg: RabbitMQConfig): QueueSpec['args'] {
  const args: QueueSpec['args'] = {};
  if (cfg.maxLen) args['x-max-length'] = cfg.maxLen;
  if (cfg.maxLenBytes) args['x-max-length-bytes'] = cfg.maxLenBytes;
  return args;
}

function uint(md: Record<string, string>, name: string): number | undefined {
  const v = prop(md, name);
  if (!v) return undefined;
  if (!/^\d+$/.test(v)) throw new Error(`rabbitmq pub/sub: subscription metadata "${name}" must be a non-negative integer, got "${v}"`);
  return Number(v);
}

/** dapr/kit's IsTruthy. */
const isTruthy = (v: string | undefined) => ['y', 'yes', 'true', 't', 'on', '1'].includes((v ?? '').trim().toLowerCase());
