// The subscriptions this sidecar runs: declarative (Subscription resources), programmatic (asked
// from the app once its port is open; they replace declarative ones for the same topic) and
// streaming (gRPC SubscribeTopicEvents, no app needed). Each becomes one broker subscription
// whose handler routes and delivers. A subscription that cannot start (broker down) is retried.
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { AppChannel } from '../../app-channel/types';
import type { MessageHandler, Subscription } from '../../components/pubsub/types';
import { errMessage } from '../../errors/runtime-error';
import type { CoreContext } from '../context';
import { NO_RESILIENCY, type Resiliency } from '../resiliency/types';
import { BulkBatcher } from './bulk';
import { type Deliver, RetryError, SubscriptionDelivery } from './delivery';
import { Router } from './routing';
import { maySubscribe } from './scopes';
import { type EndStream, StreamSubscriptions } from './streams';
import { subscriptionKey, type SubscriptionSpec } from './subscription';

const RETRY_MS = 5000;
const DISCOVERY_RETRY_MS = 1000;

interface Running {
  spec: SubscriptionSpec;
  subscription?: Subscription;
  batcher?: BulkBatcher;
  retry?: NodeJS.Timeout;
  stopped: boolean;
}

export class Subscriber {
  private declarative: SubscriptionSpec[] = [];
  private programmatic: SubscriptionSpec[] = [];
  private channel?: AppChannel;
  private readonly app = new Map<string, Running>();
  private readonly streams: StreamSubscriptions;
  private closed = false;

  constructor(
    private readonly ctx: CoreContext,
    private readonly log: Logger,
    private readonly resiliency: Resiliency = NO_RESILIENCY,
  ) {
    this.streams = new StreamSubscriptions(ctx, log, resiliency);
  }

  /** Subscription resources that apply to this app (scopes already checked by the caller). */
  setDeclarative(specs: SubscriptionSpec[]): void {
    this.declarative = specs;
  }

  /**
   * Asks the app for its subscriptions (retrying until it answers or the sidecar stops), merges
   * them over the declarative ones and starts them all. Without an app, starts the declarative
   * ones only when a channel is given later; daprd needs an app for them too.
   */
  async startApp(channel: AppChannel): Promise<void> {
    let programmatic: SubscriptionSpec[] = [];
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        programmatic = (await channel.listSubscriptions()).map((s) => ({ ...s, type: 'PROGRAMMATIC' as const }));
        break;
      } catch (e) {
        if (attempt === 1) this.log.warn(`failed to get the app's subscriptions, retrying: ${errMessage(e)}`);
        await new Promise((r) => setTimeout(r, DISCOVERY_RETRY_MS).unref());
      }
    }
    this.channel = channel;
    this.programmatic = programmatic;
    for (const [key, spec] of this.merged()) {
      if (this.closed) return;
      this.startOne(key, spec, channel);
    }
  }

  /**
   * Hot reload: the new declarative subscriptions, and the pub/subs whose instance was created,
   * replaced or removed. A subscription that changed, or whose pub/sub did, restarts on the store's
   * current instance; one that is gone ends; the rest go on untouched. Before the app is up only
   * the list changes (startApp reads it). Streaming subscriptions move too (they need no app).
   */
  async reload(declarative: SubscriptionSpec[], pubsubs: ReadonlySet<string>): Promise<void> {
    this.declarative = declarative;
    if (!this.closed) await this.streams.reload(pubsubs);
    const channel = this.channel;
    if (!channel || this.closed) return;
    const next = this.merged();
    for (const [key, running] of [...this.app]) {
      const spec = next.get(key);
      if (spec && isDeepStrictEqual(spec, running.spec) && !pubsubs.has(spec.pubsubName)) {
        next.delete(key);
        continue;
      }
      this.app.delete(key);
      await this.stop(running);
      this.log.info(`stopped subscription to topic ${running.spec.topic} on pubsub ${running.spec.pubsubName} (${running.spec.type.toLowerCase()}): resources changed`);
    }
    for (const [key, spec] of next) this.startOne(key, spec, channel);
  }

  /** Declarative subscriptions with the app's programmatic ones over them (same pubsub and topic). */
  private merged(): Map<string, SubscriptionSpec> {
    const merged = new Map<string, SubscriptionSpec>();
    for (const s of this.declarative) if (!merged.has(subscriptionKey(s.pubsubName, s.topic))) merged.set(subscriptionKey(s.pubsubName, s.topic), s);
    for (const s of this.programmatic) merged.set(subscriptionKey(s.pubsubName, s.topic), s);
    return merged;
  }

  private startOne(key: string, spec: SubscriptionSpec, channel: AppChannel): void {
    const running: Running = { spec, stopped: false };
    this.app.set(key, running);
    const delivery = this.delivery(spec);
    if (!delivery) return;
    const bulk = spec.bulkSubscribe?.enabled ? new BulkBatcher(delivery, (ev) => channel.deliverBulk(ev), this.log) : undefined;
    running.batcher = bulk;
    this.start(running, bulk ? bulk.handler() : delivery.handler((ev) => channel.deliverEvent(ev)));
  }

  /**
   * A streaming subscription (one per pubsub and topic). Validates like daprd/Layotto, resolves
   * once the broker listens, and returns its stopper; `end` is called when the sidecar ends it
   * (its pub/sub removed by hot reload).
   */
  subscribeStream(spec: Omit<SubscriptionSpec, 'type'>, deliver: Deliver, end?: EndStream): Promise<() => Promise<void>> {
    return this.streams.subscribe(spec, deliver, end);
  }

  /** Every subscription, for the metadata API. */
  list(): SubscriptionSpec[] {
    const app = [...this.app.values()].map((r) => r.spec);
    const keys = new Set(app.map((s) => subscriptionKey(s.pubsubName, s.topic)));
    const waiting = this.declarative.filter((s) => !keys.has(subscriptionKey(s.pubsubName, s.topic)));
    return [...app, ...waiting, ...this.streams.list()];
  }

  /**
   * Shutdown: streams end (their broker subscriptions go), app subscriptions only stop taking
   * messages. Those stay with the broker (durable queues, MQTT sessions) and end when the
   * components close, so events published while the sidecar is down wait for its return.
   */
  async close(): Promise<void> {
    this.closed = true;
    const app = [...this.app.values()];
    this.app.clear();
    for (const r of app) this.detach(r);
    await this.streams.close();
  }

  /** A delivery for an app subscription, or undefined (logged) when it cannot run. */
  private delivery(spec: SubscriptionSpec): SubscriptionDelivery | undefined {
    const live = this.ctx.components.get('pubsub', spec.pubsubName);
    if (!live) {
      this.log.warn(`subscription to topic ${spec.topic} is for pubsub ${spec.pubsubName}, which is not loaded; skipping`);
      return undefined;
    }
    if (!maySubscribe(live.meta.properties, this.ctx.appId, spec.topic)) {
      this.log.warn(`subscription to topic '${spec.topic}' on pubsub '${spec.pubsubName}' is not allowed for app id ${this.ctx.appId} (topic scopes); skipping`);
      return undefined;
    }
    try {
      return new SubscriptionDelivery(spec, live.instance, new Router(spec.rules, spec.defaultRoute), this.log, this.resiliency);
    } catch (e) {
      this.log.error(`subscription to topic ${spec.topic} on pubsub ${spec.pubsubName}: ${errMessage(e)}; skipping`);
      return undefined;
    }
  }

  /** Subscribes, retrying every few seconds while the broker refuses (daprd ≥1.16 does too). */
  private start(running: Running, handler: MessageHandler): void {
    const { spec } = running;
    const broker = this.ctx.components.get('pubsub', spec.pubsubName)!.instance;
    // After shutdown began, messages are refused (left to the broker) rather than delivered.
    const guarded: MessageHandler = (msg) => (running.stopped ? Promise.reject(new RetryError('the sidecar is shutting down')) : handler(msg));
    const attempt = () => {
      if (running.stopped) return;
      broker.subscribe({ topic: spec.topic, metadata: spec.metadata }, guarded).then(
        async (sub) => {
          if (running.stopped) await sub.close().catch(() => undefined);
          else {
            running.subscription = sub;
            this.log.info(`subscribed to topic ${spec.topic} on pubsub ${spec.pubsubName} (${spec.type.toLowerCase()})`);
          }
        },
        (e: unknown) => {
          this.log.warn(`failed to subscribe to topic ${spec.topic} on pubsub ${spec.pubsubName}, retrying in ${RETRY_MS / 1000}s: ${errMessage(e)}`);
          running.retry = setTimeout(attempt, RETRY_MS);
        },
      );
    };
    attempt();
  }

  /** Takes no more messages (they are refused, so the broker keeps them); the subscription stays. */
  private detach(running: Running): void {
    running.stopped = true;
    clearTimeout(running.retry);
    running.batcher?.close();
  }

  private async stop(running: Running): Promise<void> {
    this.detach(running);
    await running.subscription?.close().catch((e: unknown) => this.log.warn(`error closing subscription to ${running.spec.topic}: ${errMessage(e)}`));
  }
}
