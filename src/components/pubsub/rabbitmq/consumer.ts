// A consumer on one queue, on its own channel, that survives the channel: topology declared, a
// message acked only after the handler resolves; a rejection nacks it (requeued or not, per the
// options). When the channel goes (connection lost, queue deleted, broker cancel) the consumer
// comes back: on the next connection, or after reconnectWait. QueueConsumer is shared with
// bindings.rabbitmq's reader; Consumer is a pub/sub subscription's (contrib's layout and options).
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { MessageHandler } from '../types';
import { toPubSubMessage } from './message';
import type { RabbitMQConfig } from './metadata';
import { RetryTimer } from './retry-timer';
import { closeQuietly, type AmqpSession } from './session';
import { declareQueue, type QueueSpec } from './topology';

export interface QueueConsumerOptions {
  queue: string;
  prefetchCount: number;
  /** The broker settles on delivery (no ack, no redelivery). */
  autoAck: boolean;
  /** One message at a time, in arrival order (else all at once). */
  sequential: boolean;
  /** A rejected message goes back to the queue (else it is dropped or dead-lettered). */
  requeueOnFailure: boolean;
  reconnectWaitMs: number;
  /** Declares what the queue needs on a fresh channel, before consuming. */
  declare(ch: Channel): Promise<unknown>;
  /** Handles one message; a rejection nacks it. */
  handle(msg: ConsumeMessage): Promise<unknown>;
}

export class QueueConsumer {
  private channel?: Channel;
  private attaching = false;
  private stopped = false;
  private readonly retry: RetryTimer;
  /** Serializes deliveries when sequential. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly session: AmqpSession,
    private readonly opts: QueueConsumerOptions,
  ) {
    this.retry = new RetryTimer(opts.reconnectWaitMs);
  }

  /** The first attach: its failure (bad arguments, broker gone) is the subscriber's error. */
  async start(waitMs: number): Promise<void> {
    await this.attach(await this.session.ready(waitMs));
  }

  /** Re-attaches on a (new) connection unless already attached; failures retry later. */
  resume(model: ChannelModel): void {
    if (this.stopped || this.channel || this.attaching) return;
    this.attach(model).catch(() => this.retryLater());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.retry.stop();
    const ch = this.channel;
    this.channel = undefined;
    // Closing the channel hands every unacked message back to the queue.
    if (ch) await closeQuietly(ch);
  }

  private async attach(model: ChannelModel): Promise<void> {
    this.attaching = true;
    let ch: Channel | undefined;
    try {
      ch = await model.createChannel();
      const opened = ch;
      ch.on('error', () => undefined);
      ch.on('close', () => this.detached(opened));
      if (this.stopped) throw new Error('subscription closed');
      // Set before consume: deliveries may arrive before consume's reply is processed.
      this.channel = ch;
      if (this.opts.prefetchCount > 0) await ch.prefetch(this.opts.prefetchCount);
      await this.opts.declare(ch);
      await ch.consume(this.opts.queue, (msg) => this.onMessage(opened, msg), { noAck: this.opts.autoAck, consumerTag: this.opts.queue });
    } catch (e) {
      if (ch) {
        if (this.channel === ch) this.channel = undefined;
        await closeQuietly(ch);
      }
      throw e;
    } finally {
      this.attaching = false;
    }
  }

  private detached(ch: Channel): void {
    if (this.channel !== ch) return;
    this.channel = undefined;
    this.retryLater();
  }

  /** After reconnectWait, re-attach on the current connection; with none, the reconnect will. */
  private retryLater(): void {
    this.retry.schedule(() => {
      const model = this.session.current;
      if (model) this.resume(model);
    });
  }

  private onMessage(ch: Channel, msg: ConsumeMessage | null): void {
    // null: the broker cancelled the consumer (its queue was deleted). Closing the channel
    // brings us back through detached() with the queue declared anew.
    if (msg === null) return void closeQuietly(ch);
    if (this.stopped || this.channel !== ch) return;
    if (this.opts.sequential) this.chain = this.chain.then(() => this.deliver(ch, msg));
    else void this.deliver(ch, msg);
  }

  private async deliver(ch: Channel, msg: ConsumeMessage): Promise<void> {
    // Queued behind others on a channel that is gone since: the broker has requeued it already.
    if (this.stopped || this.channel !== ch) return;
    let ok = true;
    try {
      await this.opts.handle(msg);
    } catch {
      ok = false;
    }
    // A delivery tag means something only on the channel that delivered it; if that one is
    // gone the broker has requeued the message already.
    if (this.opts.autoAck || this.channel !== ch) return;
    try {
      if (ok) ch.ack(msg);
      else ch.nack(msg, false, this.opts.requeueOnFailure);
    } catch {
      // The channel closed in the meantime: the message is redelivered.
    }
  }
}

/** One pub/sub subscription: its queue bound to the topic's exchange, messages as PubSubMessages. */
export class Consumer extends QueueConsumer {
  constructor(session: AmqpSession, cfg: RabbitMQConfig, spec: QueueSpec, handler: MessageHandler) {
    super(session, {
      queue: spec.queue,
      prefetchCount: cfg.prefetchCount,
      autoAck: cfg.autoAck,
      sequential: cfg.concurrency === 'single',
      requeueOnFailure: cfg.requeueInFailure,
      reconnectWaitMs: cfg.reconnectWaitMs,
      declare: (ch) => declareQueue(ch, spec, cfg),
      handle: (msg) => handler(toPubSubMessage(spec.topic, msg, cfg.publishMessagePropertiesToMetadata)),
    });
  }
}
