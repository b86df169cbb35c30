// pubsub.rabbitmq (contrib's pubsub/rabbitmq): an exchange per topic, a queue per consumer id
// (instances of one app compete on it; each app gets every message), publisher confirms, ack
// after the handler. The connection comes back after a broker restart, and with it every open
// subscription (topology re-declared); publishing while it is away waits a bounded time, then fails.
import type { ComponentMetadata } from '../../types';
import { PubSubFeature, type MessageHandler, type PublishRequest, type PubSub, type SubscribeRequest, type Subscription } from '../types';
import { Consumer } from './consumer';
import { publishOptions, routingKey } from './message';
import { parseRabbitMQMetadata, type RabbitMQConfig } from './metadata';
import { Publisher } from './publisher';
import { AmqpSession } from './session';
import { queueSpec } from './topology';

/** Beyond reconnectWait, how long publish/subscribe wait for a lost connection to come back. */
const EXTRA_WAIT_MS = 5000;

export class RabbitMQPubSub implements PubSub {
  private cfg?: RabbitMQConfig;
  private session?: AmqpSession;
  private publisher?: Publisher;
  private readonly consumers = new Set<Consumer>();

  async init(md: ComponentMetadata): Promise<void> {
    const cfg = parseRabbitMQMetadata(md.properties);
    const session = new AmqpSession(cfg);
    await session.open();
    session.onReconnect((model) => {
      for (const c of this.consumers) c.resume(model);
    });
    this.cfg = cfg;
    this.session = session;
    this.publisher = new Publisher(session, cfg, this.waitMs(cfg));
  }

  features(): readonly string[] {
    return [PubSubFeature.MESSAGE_TTL];
  }

  /** Connection state: amqplib has no ping, and a lost socket drops the connection at once (then it redials). */
  async ping(): Promise<void> {
    const { cfg, session } = this.ready();
    if (!session.current) throw new Error(`rabbitmq pub/sub: not connected to ${cfg.address} (reconnecting)`);
  }

  async publish(req: PublishRequest): Promise<void> {
    const { cfg, publisher } = this.ready();
    await publisher.publish(req.topic, routingKey(req), req.data, publishOptions(req, cfg));
  }

  async subscribe(req: SubscribeRequest, handler: MessageHandler): Promise<Subscription> {
    const { cfg, session } = this.ready();
    const consumer = new Consumer(session, cfg, queueSpec(cfg, req.topic, req.metadata), handler);
    try {
      await consumer.start(this.waitMs(cfg));
    } catch (e) {
      await consumer.stop();
      throw new Error(`rabbitmq pub/sub: subscribing to ${req.topic} failed: ${(e as Error).message}`);
    }
    this.consumers.add(consumer);
    return {
      close: async () => {
        this.consumers.delete(consumer);
        await consumer.stop();
      },
    };
  }

  async close(): Promise<void> {
    const consumers = [...this.consumers];
    this.consumers.clear();
    await Promise.all(consumers.map((c) => c.stop()));
    await this.publisher?.close();
    await this.session?.close();
    this.publisher = undefined;
    this.session = undefined;
  }

  private waitMs(cfg: RabbitMQConfig): number {
    return cfg.reconnectWaitMs + EXTRA_WAIT_MS;
  }

  private ready(): { cfg: RabbitMQConfig; session: AmqpSession; publisher: Publisher } {
    if (!this.cfg || !this.session || !this.publisher) throw new Error('rabbitmq pub/sub: not initialized or closed');
    return { cfg: this.cfg, session: this.session, publisher: this.publisher };
  }
}
