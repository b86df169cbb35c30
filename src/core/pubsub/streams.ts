// Streaming subscriptions (gRPC SubscribeTopicEvents): one broker subscription per open stream,
// keyed by pubsub and topic. Hot reload moves each onto the pub/sub's new instance (the old one
// closes once drained, taking its broker subscriptions along) and ends those whose pub/sub was
// removed with daprd's not-found error, so no stream is left listening to nothing.
import type { Logger } from 'pino';
import type { PubSub, Subscription } from '../../components/pubsub/types';
import { errMessage, RuntimeError } from '../../errors/runtime-error';
import type { CoreContext } from '../context';
import type { Resiliency } from '../resiliency/types';
import { type Deliver, SubscriptionDelivery } from './delivery';
import { Router } from './routing';
import { maySubscribe } from './scopes';
import { subscriptionKey, type SubscriptionSpec } from './subscription';

/** Ends the stream from the sidecar's side (its pub/sub went away), with the error to report. */
export type EndStream = (err: RuntimeError) => void;

interface Stream {
  spec: SubscriptionSpec;
  deliver: Deliver;
  end?: EndStream;
  /** The instance the stream belongs on: the last one an attach began on. */
  broker?: PubSub;
  subscription?: Subscription;
  stopped: boolean;
}

export class StreamSubscriptions {
  private readonly streams = new Map<string, Stream>();

  constructor(
    private readonly ctx: CoreContext,
    private readonly log: Logger,
    private readonly resiliency: Resiliency,
  ) {}

  /** Validates like daprd/Layotto, resolves once the broker listens, and returns the stopper. */
  async subscribe(spec: Omit<SubscriptionSpec, 'type'>, deliver: Deliver, end?: EndStream): Promise<() => Promise<void>> {
    if (this.ctx.components.count('pubsub') === 0) throw new RuntimeError('PUBSUB_NOT_CONFIGURED');
    if (!spec.pubsubName) throw new RuntimeError('PUBSUB_EMPTY');
    const live = this.ctx.components.get('pubsub', spec.pubsubName);
    if (!live) throw new RuntimeError('PUBSUB_NOT_FOUND', spec.pubsubName);
    if (!spec.topic) throw new RuntimeError('PUBSUB_TOPIC_EMPTY', spec.pubsubName);
    if (!maySubscribe(live.meta.properties, this.ctx.appId, spec.topic)) throw new RuntimeError('PUBSUB_STREAM_FORBIDDEN', spec.pubsubName, spec.topic, spec.pubsubName);
    const key = subscriptionKey(spec.pubsubName, spec.topic);
    if (this.streams.has(key)) throw new RuntimeError('PUBSUB_STREAM_ALREADY', spec.pubsubName, spec.topic);
    const stream: Stream = { spec: { ...spec, type: 'STREAMING' }, deliver, end, stopped: false };
    this.streams.set(key, stream);
    try {
      await this.attach(stream, live.instance);
    } catch (e) {
      if (this.streams.get(key) === stream) this.streams.delete(key);
      throw e instanceof RuntimeError ? e : new RuntimeError('PUBSUB_STREAM', `failed to subscribe to topic ${spec.topic} in pubsub ${spec.pubsubName}: ${errMessage(e)}`);
    }
    return async () => {
      if (this.streams.get(key) !== stream) return;
      this.streams.delete(key);
      await this.stop(stream);
    };
  }

  /**
   * Hot reload: streams on the named pub/subs move to the store's current instance (subscribed
   * there before the old broker subscription stops, so events published after the swap arrive;
   * one in the overlap may come twice, as at-least-once allows). A stream whose pub/sub is gone,
   * or whose topic the new scopes refuse, or that cannot subscribe on the new instance, ends.
   */
  async reload(pubsubs: ReadonlySet<string>): Promise<void> {
    const moves = [...this.streams].filter(([, s]) => pubsubs.has(s.spec.pubsubName)).map(([key, s]) => this.move(key, s));
    await Promise.all(moves);
  }

  private async move(key: string, stream: Stream): Promise<void> {
    const { pubsubName, topic } = stream.spec;
    const live = this.ctx.components.get('pubsub', pubsubName);
    if (live?.instance === stream.broker) return;
    if (!live) return this.fail(key, stream, new RuntimeError('PUBSUB_NOT_FOUND', pubsubName), 'the pubsub was removed');
    if (!maySubscribe(live.meta.properties, this.ctx.appId, topic)) {
      return this.fail(key, stream, new RuntimeError('PUBSUB_STREAM_FORBIDDEN', pubsubName, topic, pubsubName), 'the new scopes do not allow the topic');
    }
    try {
      await this.attach(stream, live.instance);
      this.log.info(`streaming subscription to topic ${topic} on pubsub ${pubsubName} moved to the reloaded component`);
    } catch (e) {
      const err = new RuntimeError('PUBSUB_STREAM', `failed to subscribe to topic ${topic} in pubsub ${pubsubName} after it was reloaded: ${errMessage(e)}`);
      await this.fail(key, stream, err, errMessage(e));
    }
  }

  /** Takes the stream out and ends it with `err` (the face writes it as the call's status). */
  private async fail(key: string, stream: Stream, err: RuntimeError, why: string): Promise<void> {
    if (this.streams.get(key) !== stream) return;
    this.streams.delete(key);
    this.log.warn(`streaming subscription to topic ${stream.spec.topic} on pubsub ${stream.spec.pubsubName} ended: ${why}`);
    await this.stop(stream);
    stream.end?.(err);
  }

  /**
   * Subscribes the stream on `broker` and, once that listens, closes the subscription it had. A
   * later attach (another reload) or a stop while this one waited wins: this subscription closes.
   */
  private async attach(stream: Stream, broker: PubSub): Promise<void> {
    stream.broker = broker;
    const { spec } = stream;
    const delivery = new SubscriptionDelivery(spec, broker, new Router(spec.rules, spec.defaultRoute), this.log, this.resiliency);
    const sub = await broker.subscribe({ topic: spec.topic, metadata: spec.metadata }, delivery.handler(stream.deliver));
    if (stream.stopped || stream.broker !== broker) {
      await this.unsubscribe(stream, sub);
      return;
    }
    const old = stream.subscription;
    stream.subscription = sub;
    if (old) await this.unsubscribe(stream, old);
  }

  /** The open streams' subscriptions, for the metadata API. */
  list(): SubscriptionSpec[] {
    return [...this.streams.values()].map((s) => s.spec);
  }

  /** Shutdown: every stream's broker subscription goes (the faces end the calls themselves). */
  async close(): Promise<void> {
    const streams = [...this.streams.values()];
    this.streams.clear();
    await Promise.all(streams.map((s) => this.stop(s)));
  }

  private async stop(stream: Stream): Promise<void> {
    stream.stopped = true;
    if (stream.subscription) await this.unsubscribe(stream, stream.subscription);
  }

  /** Closing may fail when the old instance closed first (its connection is gone): only logged. */
  private async unsubscribe(stream: Stream, sub: Subscription): Promise<void> {
    await sub.close().catch((e: unknown) => this.log.warn(`error closing subscription to ${stream.spec.topic}: ${errMessage(e)}`));
  }
}
