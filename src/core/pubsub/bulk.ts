// Bulk subscribe: messages of one subscription are collected until maxMessagesCount or
// maxAwaitDurationMs, grouped by route, and sent to the app in one call per route; each entry's
// status settles its own message (daprd's bulk subscriber over a non-bulk broker). The inbound
// resiliency policies resend the entries the app asked to retry, only those.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AppBulkEvent, AppEventStatus } from '../../app-channel/types';
import type { MessageHandler, PubSubMessage } from '../../components/pubsub/types';
import { type DecodedEvent, RetryError, type SubscriptionDelivery } from './delivery';
import { BULK_DEFAULTS } from './subscription';

export type DeliverBulk = (ev: AppBulkEvent) => Promise<Map<string, AppEventStatus>>;

interface Pending {
  msg: PubSubMessage;
  ev: DecodedEvent;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class BulkBatcher {
  private pending: Pending[] = [];
  private timer?: NodeJS.Timeout;
  private readonly max: number;
  private readonly awaitMs: number;

  constructor(
    private readonly delivery: SubscriptionDelivery,
    private readonly deliverBulk: DeliverBulk,
    private readonly log: Logger,
  ) {
    const b = delivery.spec.bulkSubscribe;
    this.max = b?.maxMessagesCount || BULK_DEFAULTS.maxMessagesCount;
    this.awaitMs = b?.maxAwaitDurationMs || BULK_DEFAULTS.maxAwaitDurationMs;
  }

  handler(): MessageHandler {
    return async (msg) => {
      const ev = await this.delivery.prepare(msg);
      if (!ev) return;
      await new Promise<void>((resolve, reject) => {
        this.pending.push({ msg, ev, resolve, reject });
        if (this.pending.length >= this.max) this.flush();
        else this.timer ??= setTimeout(() => this.flush(), this.awaitMs);
      });
    };
  }

  /** Stops the timer; messages still collected are left to the broker's redelivery. */
  close(): void {
    clearTimeout(this.timer);
    for (const p of this.pending.splice(0)) p.reject(new Error('subscription closed'));
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending.splice(0);
    const byPath = new Map<string, Pending[]>();
    for (const p of batch) byPath.set(p.ev.path, [...(byPath.get(p.ev.path) ?? []), p]);
    for (const [path, group] of byPath) void this.send(path, group);
  }

  private async send(path: string, group: Pending[]): Promise<void> {
    const { spec } = this.delivery;
    const ids = group.map(() => randomUUID());
    const raw = spec.metadata.rawPayload === 'true';
    const event: AppBulkEvent = {
      id: randomUUID(),
      pubsubName: spec.pubsubName,
      topic: group[0]!.msg.topic,
      path,
      metadata: spec.metadata,
      entries: group.map((p, i) => ({
        entryId: ids[i]!,
        event: raw ? p.msg.data : p.ev.cloudEvent,
        contentType: raw ? 'application/octet-stream' : 'application/cloudevents+json',
        metadata: p.msg.metadata,
      })),
    };
    const statuses = new Map<string, AppEventStatus>();
    let entries = event.entries;
    try {
      await this.delivery.inbound(async () => {
        const got = await this.deliverBulk({ ...event, entries });
        for (const e of entries) statuses.set(e.entryId, got.get(e.entryId) ?? 'RETRY');
        entries = entries.filter((e) => statuses.get(e.entryId) === 'RETRY');
        if (entries.length > 0) throw new RetryError(`the app asked to retry ${entries.length} of the bulk's events`);
      });
    } catch (e) {
      if (!(e instanceof RetryError)) this.log.warn(`error delivering a bulk of ${entries.length} events on topic ${event.topic}: ${(e as Error).message}; they will be retried`);
    }
    group.forEach((p, i) => {
      this.delivery.settle(p.msg, p.ev.cloudEvent, statuses.get(ids[i]!) ?? 'RETRY').then(p.resolve, p.reject);
    });
  }
}
