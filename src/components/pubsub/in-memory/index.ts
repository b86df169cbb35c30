// pubsub.in-memory: an in-process bus (no durability), contrib's in-memory broker. Every
// subscription of a topic gets each message; a handler that rejects gets the message again after
// `redeliverInterval` until it succeeds or the subscription closes.
import { z } from 'zod';
import { durationMs, parseMetadata } from '../../metadata';
import type { ComponentMetadata } from '../../types';
import type { MessageHandler, PublishRequest, PubSub, PubSubMessage, SubscribeRequest, Subscription } from '../types';

const schema = z.object({ redeliverInterval: durationMs().default(500) });

interface Sub {
  handler: MessageHandler;
  open: boolean;
}

export class InMemoryPubSub implements PubSub {
  private readonly topics = new Map<string, Set<Sub>>();
  private redeliverMs = 500;
  private readonly timers = new Set<NodeJS.Timeout>();

  async init(md: ComponentMetadata): Promise<void> {
    this.redeliverMs = parseMetadata(schema, md.properties).redeliverInterval;
  }

  features(): readonly string[] {
    return [];
  }

  async publish(req: PublishRequest): Promise<void> {
    const msg: PubSubMessage = { topic: req.topic, data: req.data, contentType: req.contentType, metadata: { ...req.metadata } };
    for (const sub of this.topics.get(req.topic) ?? []) this.deliver(sub, msg);
  }

  async subscribe(req: SubscribeRequest, handler: MessageHandler): Promise<Subscription> {
    let subs = this.topics.get(req.topic);
    if (!subs) this.topics.set(req.topic, (subs = new Set()));
    const sub: Sub = { handler, open: true };
    subs.add(sub);
    return {
      close: async () => {
        sub.open = false;
        subs.delete(sub);
      },
    };
  }

  async close(): Promise<void> {
    for (const subs of this.topics.values()) for (const s of subs) s.open = false;
    this.topics.clear();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private deliver(sub: Sub, msg: PubSubMessage): void {
    if (!sub.open) return;
    sub.handler(msg).catch(() => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.deliver(sub, msg);
      }, this.redeliverMs);
      this.timers.add(t);
    });
  }
}
