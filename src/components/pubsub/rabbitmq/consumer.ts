// One subscription: its own channel, topology declared, a consumer on its queue. A message is
// acked only after the handler resolves; a rejection nacks it (requeued with requeueInFailure,
// else dropped or dead-lettered, as contrib). When the channel goes (connection lost, queue
// deleted, broker cancel) the consumer comes back: on the next connection, or after reconnectWait.
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { MessageHandler } from '../types';
import { toPubSubMessage } from './message';
import type { RabbitMQConfig } from './metadata';
import { RetryTimer } from './retry-timer';
import { closeQuietly, type AmqpSession } from './session';
import { declareQueue, type QueueSpec } from './topology';

export class Consumer {
  private channel?: Channel;
  private attaching = false;
  private stopped = false;
  private readonly retry: RetryTimer;
  /** Serializes deliveries for concurrencyMode=single. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly session: AmqpSession,
    private readonly cfg: RabbitMQConfig,
    private readonly spec: QueueSpec,
    private readonly handler: MessageHandler,
  ) {
    this.retry = new RetryTimer(cfg.reconnectWaitMs);
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
      if (this.cfg.prefetchCount > 0) await ch.prefetch(this.cfg.prefetchCount);
      await declareQueue(ch, this.spec, this.cfg);
      await ch.consume(this.spec.queue, (msg) => this.onMessage(opened, msg), { noAck: this.cfg.autoAck, consumerTag: this.spec.queue });
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
    if (this.cfg.concurrency === 'single') this.chain = this.chain.then(() => this.deliver(ch, msg));
    else void this.deliver(ch, msg);
  }

  private async deliver(ch: Channel, msg: ConsumeMessage): Promise<void> {
    let ok = true;
    try {
      await this.handler(toPubSubMessage(this.spec.topic, msg, this.cfg.publishMessagePropertiesToMetadata));
    } catch {
      ok = false;
    }
    // A delivery tag means something only on the channel that delivered it; if that one is
    // gone the broker has requeued the message already.
    if (this.cfg.autoAck || this.channel !== ch) return;
    try {
      if (ok) ch.ack(msg);
      else ch.nack(msg, false, this.cfg.requeueInFailure);
    } catch {
      // The channel closed in the meantime: the message is redelivered.
    }
  }
}
