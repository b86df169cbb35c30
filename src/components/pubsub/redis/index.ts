// pubsub.redis: Redis Streams, laid out as daprd lays them out so both can share a Redis. A topic
// is a stream, XADD writes fields `data` and `metadata`; consumerID is the consumer group (and
// the consumer name), so instances of one app compete for entries and different apps each get
// all of them. At-least-once: an entry is XACKed only after its handler resolved; otherwise it
// stays pending and is reclaimed after processingTimeout. ttlInSeconds is left to the runtime
// (contrib declares no MESSAGE_TTL for this broker either).
import { closeRedis, connectRedis, pingRedis } from '../../common/redis';
import type { ComponentMetadata } from '../../types';
import type { MessageHandler, PublishRequest, PubSub, SubscribeRequest, Subscription } from '../types';
import { entryFields } from './entry';
import { parseStreamsMetadata, type StreamsConfig } from './metadata';
import { StreamSubscription, type StreamsContext } from './stream-subscription';
import { WorkQueue } from './work-queue';

/** How long close() lets running handlers finish (and ack) before dropping the connection. */
const SETTLE_MS = 5000;

/** XADD trimming: maxLenApprox wins over streamTTL, as with contrib (Redis takes one strategy). */
export function trimArgs(cfg: Pick<StreamsConfig, 'maxLenApprox' | 'streamTTL'>, now = Date.now()): (string | number)[] {
  if (cfg.maxLenApprox > 0) return ['MAXLEN', '~', cfg.maxLenApprox];
  if (cfg.streamTTL) return ['MINID', '~', Math.max(0, Math.floor(now - cfg.streamTTL))];
  return [];
}

export class RedisStreamsPubSub implements PubSub {
  private ctx?: StreamsContext;
  private readonly subs = new Set<StreamSubscription>();
  private closed = false;

  async init(md: ComponentMetadata): Promise<void> {
    const cfg = parseStreamsMetadata(md.properties);
    const client = await connectRedis(cfg.redis, 'redis streams');
    this.ctx = { client, cfg, queue: new WorkQueue(cfg.queueDepth, cfg.concurrency) };
  }

  features(): readonly string[] {
    return [];
  }

  ping(): Promise<void> {
    return pingRedis(this.context().client);
  }

  async publish(req: PublishRequest): Promise<void> {
    const { client, cfg } = this.context();
    try {
      await client.xadd(req.topic, ...trimArgs(cfg), '*', ...entryFields(req.data, req.metadata));
    } catch (e) {
      throw new Error(`redis streams: error from publish: ${(e as Error).message}`);
    }
  }

  async subscribe(req: SubscribeRequest, handler: MessageHandler): Promise<Subscription> {
    const sub = await StreamSubscription.open(this.context(), req.topic, handler);
    if (this.closed) {
      await sub.close();
      throw new Error('redis streams: component is closed');
    }
    this.subs.add(sub);
    return {
      close: async () => {
        this.subs.delete(sub);
        await sub.close();
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subs].map((s) => s.close()));
    this.subs.clear();
    if (!this.ctx) return;
    await this.ctx.queue.settle(SETTLE_MS);
    await closeRedis(this.ctx.client);
  }

  private context(): StreamsContext {
    if (this.closed) throw new Error('redis streams: component is closed');
    if (!this.ctx) throw new Error('redis streams: not initialized');
    return this.ctx;
  }
}
