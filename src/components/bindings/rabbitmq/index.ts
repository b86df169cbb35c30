// bindings.rabbitmq (contrib's bindings/rabbitmq): output `create` puts a message on the queue
// (persistent, through the default exchange, resolved once the broker confirmed it); input reads
// the same queue and acks a message only after the app took it. The queue is declared at init, as
// contrib does, so flags that clash with an existing queue fail there. One connection, coming back
// by itself after a broker restart (pub/sub's AmqpSession), with the reader re-attached.
import type { Channel, ConfirmChannel, Options } from 'amqplib';
import { QueueConsumer } from '../../pubsub/rabbitmq/consumer';
import { closeQuietly, AmqpSession } from '../../pubsub/rabbitmq/session';
import { CONFIRM_GRACE_MS, confirmed } from '../../pubsub/rabbitmq/publisher';
import { withDeadline } from '../../common/deadline';
import type { Component, ComponentMetadata, Pinger } from '../../types';
import { prop } from '../../pubsub/metadata';
import { BindingOperation, type BindingInvokeRequest, type BindingInvokeResponse, type BindingReader, type BindingReadHandler, type InputBinding, type OutputBinding } from '../types';
import { parseRabbitMQBindingMetadata, type RabbitMQBindingConfig } from './metadata';
import { toReadEvent } from './message';

const LABEL = 'rabbitmq binding';
/** Beyond reconnectWaitInSeconds, how long a call waits for a lost connection to come back. */
const EXTRA_WAIT_MS = 5000;

export class RabbitMQBinding implements Component, Pinger, OutputBinding, InputBinding {
  private cfg?: RabbitMQBindingConfig;
  private session?: AmqpSession;
  private publishing?: Promise<ConfirmChannel>;
  private readonly readers = new Set<QueueConsumer>();

  async init(md: ComponentMetadata): Promise<void> {
    const cfg = parseRabbitMQBindingMetadata(md.properties);
    const session = new AmqpSession(cfg, LABEL);
    await session.open();
    this.cfg = cfg;
    this.session = session;
    session.onReconnect((model) => {
      for (const r of this.readers) r.resume(model);
    });
    const ch = await session.ready(0).then((m) => m.createChannel());
    ch.on('error', () => undefined);
    try {
      await this.declare(ch);
    } catch (e) {
      throw new Error(`${LABEL}: declaring queue ${cfg.queueName} failed: ${(e as Error).message}`);
    } finally {
      await closeQuietly(ch);
    }
  }

  features(): readonly string[] {
    return [];
  }

  /** Connection state, as pub/sub's: amqplib has no ping, and a lost socket drops the connection at once. */
  async ping(): Promise<void> {
    const { cfg, session } = this.ready();
    if (!session.current) throw new Error(`${LABEL}: not connected to ${cfg.address} (reconnecting)`);
  }

  operations(): readonly string[] {
    return [BindingOperation.CREATE];
  }

  /** Bounded as a whole: on a stalled connection neither a channel nor the confirm would come until heartbeats give up. */
  async invoke(req: BindingInvokeRequest): Promise<BindingInvokeResponse | undefined> {
    const { cfg } = this.ready();
    const options = publishOptions(req.metadata, cfg.contentType);
    const bound = cfg.reconnectWaitMs + EXTRA_WAIT_MS + CONFIRM_GRACE_MS;
    await withDeadline(this.send(cfg, req.data, options), bound, () => new Error(`${LABEL}: failed to publish message: no confirm from ${cfg.address} within ${bound} ms`));
    return undefined; // nothing to answer: daprd replies 204
  }

  private async send(cfg: RabbitMQBindingConfig, data: Buffer, options: Options.Publish): Promise<void> {
    let last: Error | undefined;
    // A channel the broker closed under us is replaced once.
    for (let attempt = 0; attempt < 2; attempt++) {
      const open = this.publishChannel();
      const forget = () => {
        if (this.publishing === open) this.publishing = undefined;
      };
      let ch: ConfirmChannel;
      try {
        ch = await open;
      } catch (e) {
        // Not connected (and not back in time): another attempt would only wait again.
        last = e as Error;
        forget();
        break;
      }
      try {
        // The default exchange routes by queue name, as sendToQueue does.
        await confirmed(ch, '', cfg.queueName, data, options);
        return;
      } catch (e) {
        last = e as Error;
        forget();
      }
    }
    throw new Error(`${LABEL}: failed to publish message: ${last?.message ?? 'unknown error'}`);
  }

  async read(handler: BindingReadHandler): Promise<BindingReader> {
    const { cfg, session } = this.ready();
    // One message at a time, in order (contrib reads in one loop); a refusal is requeued.
    const reader = new QueueConsumer(session, {
      queue: cfg.queueName,
      prefetchCount: cfg.prefetchCount,
      autoAck: false,
      sequential: true,
      requeueOnFailure: true,
      reconnectWaitMs: cfg.reconnectWaitMs,
      declare: (ch) => this.declare(ch),
      handle: (msg) => handler(toReadEvent(msg)),
    });
    try {
      await reader.start(cfg.reconnectWaitMs + EXTRA_WAIT_MS);
    } catch (e) {
      await reader.stop();
      throw new Error(`${LABEL}: consuming from ${cfg.queueName} failed: ${(e as Error).message}`);
    }
    this.readers.add(reader);
    return {
      close: async () => {
        this.readers.delete(reader);
        await reader.stop();
      },
    };
  }

  async close(): Promise<void> {
    const readers = [...this.readers];
    this.readers.clear();
    await Promise.all(readers.map((r) => r.stop()));
    const publishing = this.publishing;
    this.publishing = undefined;
    if (publishing) await publishing.then(closeQuietly, () => undefined);
    await this.session?.close();
    this.session = undefined;
  }

  private declare(ch: Channel) {
    const cfg = this.cfg!;
    return ch.assertQueue(cfg.queueName, { durable: cfg.durable, autoDelete: cfg.deleteWhenUnused, exclusive: cfg.exclusive, arguments: cfg.queueArgs });
  }

  /** The confirm channel publishes go through, opened on first use (and after a loss). */
  private publishChannel(): Promise<ConfirmChannel> {
    if (this.publishing) return this.publishing;
    const { cfg, session } = this.ready();
    const open = session.ready(cfg.reconnectWaitMs + EXTRA_WAIT_MS).then((m) => m.createConfirmChannel());
    this.publishing = open;
    open.then(
      (ch) => {
        ch.on('error', () => undefined);
        ch.on('close', () => {
          if (this.publishing === open) this.publishing = undefined;
        });
      },
      () => {
        if (this.publishing === open) this.publishing = undefined;
      },
    );
    return open;
  }

  private ready(): { cfg: RabbitMQBindingConfig; session: AmqpSession } {
    if (!this.cfg || !this.session) throw new Error(`${LABEL}: not initialized or closed`);
    return { cfg: this.cfg, session: this.session };
  }
}

/**
 * contrib's Invoke: persistent, text/plain unless contentType says otherwise, the request metadata
 * as headers, ttlInSeconds as the message's expiration and priority (clamped to 255).
 */
export function publishOptions(md: Record<string, string>, contentType: string): Options.Publish {
  const options: Options.Publish = { deliveryMode: 2, contentType: prop(md, 'contentType') || contentType, headers: { ...md } };
  const ttl = prop(md, 'ttlInSeconds');
  if (ttl) {
    if (!/^-?\d+$/.test(ttl)) throw new Error(`${LABEL}: incorrect value for metadata ttlInSeconds: "${ttl}"`);
    // A negative TTL means "never expires" to contrib.
    if (Number(ttl) >= 0) options.expiration = String(Number(ttl) * 1000);
  }
  const priority = prop(md, 'priority');
  if (priority) {
    if (!/^\d+$/.test(priority)) throw new Error(`${LABEL}: incorrect value for metadata priority: "${priority}"`);
    options.priority = Math.min(Number(priority), 255);
  }
  return options;
}
