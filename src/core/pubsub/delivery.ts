// One broker message on its way to a subscriber: decode the CloudEvent (or wrap a raw payload),
// drop expired events, route by the rules, deliver, and turn the answer into the broker's
// ack/redeliver (at-least-once: resolve only after SUCCESS or DROP). The broker's inbound
// resiliency policies retry a failed delivery (the app answered RETRY or could not be reached)
// before the message goes back to the broker. Dead letters get the original bytes, as daprd sends them.
import type { Logger } from 'pino';
import type { AppEventStatus, AppTopicEvent } from '../../app-channel/types';
import type { MessageHandler, PubSub, PubSubMessage } from '../../components/pubsub/types';
import { dataBytes, fromRawPayload, hasExpired, parseBool } from './cloudevent';
import { parseJson } from '../json-depth';
import { NO_RESILIENCY, type Resiliency } from '../resiliency/types';
import type { Router } from './routing';
import { tracing, withCallbackSpan } from '../trace';
import type { SubscriptionSpec } from './subscription';

/** Where routed events go: the app channel, or a streaming subscriber. */
export type Deliver = (ev: AppTopicEvent) => Promise<AppEventStatus>;

export interface DecodedEvent {
  cloudEvent: Record<string, unknown>;
  path: string;
}

export class RetryError extends Error {}

export class SubscriptionDelivery {
  private readonly raw: boolean;

  constructor(
    readonly spec: SubscriptionSpec,
    private readonly broker: PubSub,
    private readonly router: Router,
    private readonly log: Logger,
    private readonly resiliency: Resiliency = NO_RESILIENCY,
  ) {
    this.raw = isRaw(spec.metadata);
  }

  /** The broker handler that delivers each message through `deliver`. */
  handler(deliver: Deliver): MessageHandler {
    return async (msg) => {
      const ev = await this.prepare(msg);
      if (!ev) return;
      const event = this.appEvent(msg, ev);
      let status: AppEventStatus;
      try {
        status = await this.inbound(async () => {
          const s = await this.traced(msg.topic, event, deliver);
          if (s === 'RETRY') throw new RetryError(`the app asked to retry event ${String(ev.cloudEvent.id)}`);
          return s;
        });
      } catch (e) {
        if (!(e instanceof RetryError)) this.log.warn(`error delivering event ${String(ev.cloudEvent.id)} on topic ${msg.topic} to the app: ${(e as Error).message}; it will be retried`);
        status = 'RETRY';
      }
      await this.settle(msg, ev.cloudEvent, status);
    };
  }

  /**
   * Decodes and routes a message; resolves undefined when it was dealt with here (expired, no
   * route: acknowledged, dead-lettered if configured); rejects to have it redelivered.
   */
  async prepare(msg: PubSubMessage): Promise<DecodedEvent | undefined> {
    const { pubsubName } = this.spec;
    let cloudEvent: Record<string, unknown>;
    if (this.raw) {
      cloudEvent = fromRawPayload(msg.data, msg.topic, pubsubName);
    } else {
      const parsed = parseCloudEvent(msg.data);
      if (!parsed) {
        this.log.error(`error deserializing cloud event in pubsub ${pubsubName} and topic ${msg.topic}: not a JSON object`);
        if (await this.deadLetter(msg)) return undefined;
        throw new RetryError('the message is not a CloudEvent');
      }
      cloudEvent = parsed;
    }
    if (hasExpired(cloudEvent)) {
      this.log.warn(`dropping expired pub/sub event ${String(cloudEvent.id)} as of ${String(cloudEvent.expiration)}`);
      await this.deadLetter(msg);
      return undefined;
    }
    const path = this.router.route(cloudEvent);
    if (path === undefined) {
      this.log.warn(`no matching route for event ${String(cloudEvent.id)} in pubsub ${pubsubName} and topic ${msg.topic}; skipping`);
      await this.deadLetter(msg);
      return undefined;
    }
    return { cloudEvent, path };
  }

  /**
   * One delivery under daprd's callback span `pubsub/<topic>` (child of the event's trace context);
   * the app gets that span as its parent. Tracing off: the event's own trace context goes on.
   */
  private traced(topic: string, event: AppTopicEvent, deliver: Deliver): Promise<AppEventStatus> {
    if (!tracing()) return deliver(event);
    const ce = event.cloudEvent;
    const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
    const traceparent = str(ce.traceparent) ?? str(ce.traceid);
    const parent = traceparent ? { traceparent, tracestate: str(ce.tracestate) } : undefined;
    const attributes = { 'messaging.system': 'pubsub', 'messaging.destination.name': topic, 'messaging.destination_kind': 'topic' };
    return withCallbackSpan(`pubsub/${topic}`, attributes, parent, (trace) => deliver({ ...event, trace }), (s) => (s === 'SUCCESS' ? undefined : `the app answered ${s}`));
  }

  /** A delivery to the app under the broker's inbound policies. */
  inbound<T>(op: () => Promise<T>): Promise<T> {
    return this.resiliency.componentInbound(this.spec.pubsubName, op, 'pubsub');
  }

  appEvent(msg: PubSubMessage, ev: DecodedEvent): AppTopicEvent {
    return {
      cloudEvent: ev.cloudEvent,
      data: dataBytes(ev.cloudEvent),
      // The CloudEvent bytes as published: HTTP apps get them verbatim (big numbers intact).
      ...(this.raw ? {} : { body: msg.data }),
      pubsubName: this.spec.pubsubName,
      topic: msg.topic,
      path: ev.path,
      metadata: msg.metadata,
    };
  }

  /** SUCCESS acks; DROP acks after the dead letter; RETRY rejects so the broker redelivers. */
  async settle(msg: PubSubMessage, ce: Record<string, unknown>, status: AppEventStatus): Promise<void> {
    if (status === 'SUCCESS') return;
    if (status === 'DROP') {
      this.log.warn(`the app dropped event ${String(ce.id)} on topic ${msg.topic}`);
      await this.deadLetter(msg);
      return;
    }
    throw new RetryError(`the app asked to retry event ${String(ce.id)}`);
  }

  /** Publishes the original message to the dead-letter topic; false when none is set. */
  private async deadLetter(msg: PubSubMessage): Promise<boolean> {
    const topic = this.spec.deadLetterTopic;
    if (!topic) return false;
    await this.broker.publish({ topic, data: msg.data, contentType: msg.contentType, metadata: msg.metadata });
    return true;
  }
}

function isRaw(metadata: Record<string, string>): boolean {
  const v = metadata.rawPayload ?? metadata.rawpayload;
  try {
    return v ? parseBool(v) : false;
  } catch {
    return false;
  }
}

function parseCloudEvent(data: Buffer): Record<string, unknown> | undefined {
  try {
    // Nesting past the limit could not be re-serialized for the app: undecodable, like bad JSON.
    const v: unknown = parseJson(data.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
