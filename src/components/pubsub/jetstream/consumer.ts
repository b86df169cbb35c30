// The durable consumer behind one subscription. Each (consumer id, topic) gets its own durable
// pull consumer filtered on the topic: instances of one app bind to the same durable and share
// its messages (a pull consumer hands each message to one puller), another consumer id gets its
// own durable and so every message, and the durable keeps its position while nobody listens.
//
// Contrib differs: it creates a push consumer with deliver subject and uses durableName as is for
// every topic (two topics on one stream then fight over one consumer), queueGroupName for load
// balancing, and no default from consumerID (older versions defaulted queueGroupName to it).
// Here durableName, else queueGroupName, else consumerID names the group, and the topic is
// appended so one component can serve many topics.
import { createHash } from 'node:crypto';
import { AckPolicy, DeliverPolicy, type ConsumerConfig } from '@nats-io/jetstream';
import type { JetStreamConfig } from './metadata';

const nanos = (ms: number) => Math.round(ms * 1e6);

/** A durable name for group + topic, within NATS's rules (no `.`, `*`, `>`, `/`, `\`, spaces). */
export function durableName(group: string, topic: string): string {
  const raw = `${group}-${topic}`;
  const safe = raw.replace(/[^A-Za-z0-9_-]/g, '_');
  // Replacing characters could make two topics collide ("a.b" and "a_b"): a hash keeps them apart.
  return safe === raw ? raw : `${safe}-${createHash('sha256').update(raw).digest('hex').slice(0, 8)}`;
}

const policies: Record<JetStreamConfig['deliverPolicy'], DeliverPolicy> = {
  all: DeliverPolicy.All,
  last: DeliverPolicy.Last,
  new: DeliverPolicy.New,
  sequence: DeliverPolicy.StartSequence,
  time: DeliverPolicy.StartTime,
};

export function consumerConfig(cfg: JetStreamConfig, durable: string, topic: string): Partial<ConsumerConfig> {
  const c: Partial<ConsumerConfig> = {
    durable_name: durable,
    filter_subject: topic,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: policies[cfg.deliverPolicy],
  };
  if (cfg.startSequence !== undefined) c.opt_start_seq = cfg.startSequence;
  if (cfg.startTime !== undefined) c.opt_start_time = new Date(cfg.startTime * 1000).toISOString();
  if (cfg.ackWait !== undefined) c.ack_wait = nanos(cfg.ackWait);
  if (cfg.maxDeliver) c.max_deliver = cfg.maxDeliver;
  if (cfg.backOff.length) c.backoff = cfg.backOff.map(nanos);
  if (cfg.maxAckPending !== undefined) c.max_ack_pending = cfg.maxAckPending;
  if (cfg.replicas !== undefined) c.num_replicas = cfg.replicas;
  if (cfg.memoryStorage) c.mem_storage = true;
  return c;
}
