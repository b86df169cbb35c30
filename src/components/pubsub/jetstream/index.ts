// pubsub.jetstream: NATS JetStream, contrib's pubsub/jetstream. A topic is a NATS subject; the
// message body is the bytes as given (the serialized CloudEvent), with Nats-Msg-Id taken from the
// CloudEvent id so the stream drops a retried publish. Subscriptions read durable pull consumers
// (consumer.ts); which stream stores a topic is settled by streams.ts.
import { jetstream, type ConsumerCreateOptions, type JetStreamClient, type JetStreamManager, type JetStreamPublishOptions } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { ComponentConfigError, type ComponentMetadata } from '../../types';
import {
  PubSubFeature,
  type BulkPublisher,
  type BulkPublishRequest,
  type BulkPublishResult,
  type MessageHandler,
  type PublishRequest,
  type PubSub,
  type SubscribeRequest,
  type Subscription,
} from '../types';
import { CONNECT_TIMEOUT_MS, connectJetStream, jetStreamOptions, type LinkState } from './connect';
import { consumerConfig, durableName } from './consumer';
import { parseJetStreamMetadata, type JetStreamConfig } from './metadata';
import { noStreamError, StreamLocator } from './streams';
import { pullBatch, TopicSubscription } from './subscription';

// Create, or update a durable whose settings changed since (the client's typed options omit the
// action its implementation accepts; servers before 2.10 create-or-update anyway).
const CREATE_OR_UPDATE = { action: '' } as ConsumerCreateOptions;

interface Connected {
  cfg: JetStreamConfig;
  nc: NatsConnection;
  link: LinkState;
  js: JetStreamClient;
  jsm: JetStreamManager;
  streams: StreamLocator;
  group: string;
}

export class JetStreamPubSub implements PubSub, BulkPublisher {
  private conn?: Connected;
  private closed = false;
  private readonly subs = new Set<TopicSubscription>();

  async init(md: ComponentMetadata): Promise<void> {
    const cfg = parseJetStreamMetadata(md.properties);
    const group = cfg.durableName || cfg.queueGroupName || cfg.consumerID;
    if (!group) throw new ComponentConfigError('metadata field "consumerID": required (the runtime sets it to the app id) unless durableName is set', 'consumerID');
    const { nc, jsm, link } = await connectJetStream(cfg);
    const js = jetstream(nc, jetStreamOptions(cfg));
    this.conn = { cfg, nc, link, js, jsm, streams: new StreamLocator(jsm, cfg.streamName), group };
  }

  features(): readonly string[] {
    return [PubSubFeature.BULK_PUBLISH];
  }

  /** A PING/PONG round trip; rtt() refuses at once while the connection is down. */
  async ping(): Promise<void> {
    await this.ready().nc.rtt();
  }

  async publish(req: PublishRequest): Promise<void> {
    await this.send(this.ready(), req.topic, req.data);
  }

  async bulkPublish(req: BulkPublishRequest): Promise<BulkPublishResult> {
    const conn = this.ready();
    const results = await Promise.allSettled(req.entries.map((e) => this.send(conn, req.topic, e.data)));
    const failedEntries: BulkPublishResult['failedEntries'] = [];
    results.forEach((r, i) => {
      if (r.status === 'rejected') failedEntries.push({ entryId: req.entries[i]!.entryId, error: (r.reason as Error).message });
    });
    return { failedEntries };
  }

  async subscribe(req: SubscribeRequest, handler: MessageHandler): Promise<Subscription> {
    const { cfg, js, jsm, streams, group } = this.ready();
    const stream = await streams.streamFor(req.topic);
    const durable = durableName(group, req.topic);
    try {
      await jsm.consumers.add(stream, consumerConfig(cfg, durable, req.topic), CREATE_OR_UPDATE);
    } catch (e) {
      throw new Error(`pubsub.jetstream: cannot set up durable consumer "${durable}" on stream "${stream}": ${(e as Error).message}`);
    }
    const consumer = await js.consumers.get(stream, durable);
    const parallel = cfg.concurrency === 'parallel';
    const messages = await consumer.consume({ max_messages: pullBatch(parallel, cfg.maxAckPending) });
    const sub = new TopicSubscription(messages, handler, { parallel, nakDelay: cfg.ackWait }, () => this.subs.delete(sub));
    this.subs.add(sub);
    // close() ran while this was being set up: it must not keep pulling.
    if (this.closed) await sub.close();
    return sub;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subs].map((s) => s.close()));
    await this.conn?.nc.close().catch(() => undefined);
  }

  private ready(): Connected {
    if (!this.conn || this.closed) throw new Error('pubsub.jetstream: component is not initialized or closed');
    return this.conn;
  }

  /** Publishes; a failure names the topic and, when the connection is down, says so. */
  private async send(conn: Connected, topic: string, data: Buffer): Promise<void> {
    try {
      await this.sendOnce(conn, topic, data);
    } catch (e) {
      const err = e as Error;
      // The client's "timeout" says nothing of what was waited for.
      const reason = err.name === 'TimeoutError' ? `no acknowledgement from JetStream within ${CONNECT_TIMEOUT_MS} ms` : err.message.replace(/^pubsub\.jetstream: /, '');
      throw new Error(`pubsub.jetstream: publishing to "${topic}" failed: ${reason}${conn.link.note()}`, { cause: e });
    }
  }

  /** Publishes once the topic's stream is known (created or extended first when streamName is set). */
  private async sendOnce(conn: Connected, topic: string, data: Buffer): Promise<void> {
    const opts = publishOptions(topic, data);
    if (conn.cfg.streamName) await conn.streams.streamFor(topic);
    try {
      await conn.js.publish(topic, data, opts);
    } catch (e) {
      if (!noStream(e)) throw e;
      conn.streams.forget(topic);
      // The stream lost the subject since (deleted, or edited by another instance): settle it again.
      if (!conn.cfg.streamName) throw noStreamError(topic);
      await conn.streams.streamFor(topic);
      await conn.js.publish(topic, data, opts);
    }
  }
}

// With JetStream known to be on (init checked), "no responders" means no stream took the subject;
// the client reports that as JetStreamNotEnabled.
const noStream = (e: unknown) => e instanceof Error && e.name === 'JetStreamNotEnabled';

/**
 * Nats-Msg-Id from the CloudEvent id, as contrib does, but scoped by topic: the server dedupes per
 * stream, and one stream may store several topics that carry the same event.
 */
function publishOptions(topic: string, data: Buffer): Partial<JetStreamPublishOptions> {
  if (data[0] !== 0x7b /* { */) return {};
  try {
    const id: unknown = (JSON.parse(data.toString('utf8')) as { id?: unknown }).id;
    return typeof id === 'string' && id ? { msgID: `${topic}/${id}` } : {};
  } catch {
    return {};
  }
}
