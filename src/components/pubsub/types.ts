// The pub/sub broker contract (components-contrib's pubsub.PubSub): publish bytes to a topic,
// subscribe a handler to a topic. The runtime builds and reads the CloudEvent envelope; brokers
// only move bytes and metadata. Optional capabilities are separate interfaces plus features().
import type { Component } from '../types';

/** Declared capabilities, contrib's names (the metadata API reports them). */
export const PubSubFeature = {
  /** The broker expires messages itself (metadata ttlInSeconds); otherwise the runtime stamps `expiration`. */
  MESSAGE_TTL: 'MESSAGE_TTL',
  /** Topics may hold the broker's wildcards (MQTT `+`/`#`). */
  SUBSCRIBE_WILDCARDS: 'SUBSCRIBE_WILDCARDS',
  /** bulkPublish is native (BulkPublisher); otherwise the runtime publishes entry by entry. */
  BULK_PUBLISH: 'BULK_PUBLISH',
} as const;

export interface PublishRequest {
  topic: string;
  /** The bytes to put on the wire: a serialized CloudEvent, or the raw payload (rawPayload=true). */
  data: Buffer;
  /** Content type of `data` (application/cloudevents+json for an envelope). */
  contentType?: string;
  /** Request metadata (ttlInSeconds, component-specific keys). */
  metadata: Record<string, string>;
}

/** One message as the broker hands it to a subscriber. */
export interface PubSubMessage {
  /** The concrete topic the message was published to (differs from the subscribed one with wildcards). */
  topic: string;
  data: Buffer;
  contentType?: string;
  /** Broker metadata; the runtime passes it to the app (HTTP headers, gRPC extensions). */
  metadata: Record<string, string>;
}

/**
 * Processes one message. Resolves when the message is done with (the app said SUCCESS or DROP):
 * only then may the broker acknowledge it. Rejects when it must come again: the broker leaves it
 * unacknowledged / negatively acknowledges it so it is redelivered (at-least-once).
 */
export type MessageHandler = (msg: PubSubMessage) => Promise<void>;

export interface SubscribeRequest {
  topic: string;
  /** Subscription metadata (consumerID overrides, queueName, rawPayload, ...). */
  metadata: Record<string, string>;
}

export interface Subscription {
  /** Stops delivering this topic to the handler; other subscriptions go on. Unacked messages stay with the broker. */
  close(): Promise<void>;
}

export interface PubSub extends Component {
  publish(req: PublishRequest): Promise<void>;
  /** Resolves once the broker is listening (messages published after it are delivered). */
  subscribe(req: SubscribeRequest, handler: MessageHandler): Promise<Subscription>;
}

export interface BulkPublishEntry {
  entryId: string;
  data: Buffer;
  contentType?: string;
  metadata: Record<string, string>;
}

export interface BulkPublishRequest {
  topic: string;
  entries: BulkPublishEntry[];
  metadata: Record<string, string>;
}

/** Entries that did not make it, by id; the rest were published. */
export interface BulkPublishResult {
  failedEntries: { entryId: string; error: string }[];
}

/** Optional: a native bulk publish (feature BULK_PUBLISH). */
export interface BulkPublisher {
  bulkPublish(req: BulkPublishRequest): Promise<BulkPublishResult>;
}

export const isBulkPublisher = (p: PubSub): p is PubSub & BulkPublisher =>
  typeof (p as Partial<BulkPublisher>).bulkPublish === 'function';
