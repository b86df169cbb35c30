// The input side: a consumer on the binding's queue, on its own channel. Messages are handed to the
// app one at a time, in order (contrib reads them in one loop); one is acked once the app took it
// and nacked with requeue when it did not, so the broker delivers it again. When the channel or
// the connection goes, the consumer comes back (queue re-declared) on the next connection or after
// reconnectWaitInSeconds.
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { RetryTimer } from '../../pubsub/rabbitmq/retry-timer';
import { closeQuietly, type AmqpSession } from '../../pubsub/rabbitmq/session';
import type { BindingReadHandler } from '../types';
import type { RabbitMQBindingConfig } from './metadata';

export class QueueReader {
  private channel?: Channel;
  private attaching = false;
  private stopped = false;
  private readonly retry: RetryTimer;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly session: AmqpSession,
    private readonly cfg: RabbitMQBindingConfig,
    private readonly declare: (ch: Channel) => Promise<unknown>,
    private readonly handler: BindingReadHandler,
  ) {
    this.retry = new RetryTimer(cfg.reconnectWaitMs);
  }

  async start(waitMs: number): Promise<void> {
    await this.attach(await this.session.ready(waitMs));
  }

  /** Re-attaches on a (new) connection unless attached already; a failure retries later. */
  resume(model: ChannelModel): void {
    if (this.stopped || this.channel || this.attaching) return;
    this.attach(model).catch(() => this.retryLater());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.retry.stop();
    const ch = this.channel;
    this.channel = undefined;
    // Unacked messages go back to the queue with the channel.
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
      if (this.stopped) throw new Error('reading stopped');
      this.channel = ch;
      if (this.cfg.prefetchCount > 0) await ch.prefetch(this.cfg.prefetchCount);
      await this.declare(ch);
      await ch.consume(this.cfg.queueName, (msg) => this.onMessage(opened, msg), { noAck: false });
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

  private retryLater(): void {
    this.retry.schedule(() => {
      const model = this.session.current;
      if (model) this.resume(model);
    });
  }

  private onMessage(ch: Channel, msg: ConsumeMessage | null): void {
    // null: the broker cancelled the consumer (queue deleted); the new channel re-declares it.
    if (msg === null) return void closeQuietly(ch);
    this.chain = this.chain.then(() => this.deliver(ch, msg));
  }

  private async deliver(ch: Channel, msg: ConsumeMessage): Promise<void> {
    if (this.stopped || this.channel !== ch) return; // the broker requeues what the closed channel held
    let ok = true;
    try {
      await this.handler({ data: msg.content, metadata: headersToMetadata(msg.properties.headers) });
    } catch {
      ok = false;
    }
    if (this.channel !== ch) return;
    try {
      if (ok) ch.ack(msg);
      else ch.nack(msg, false, true);
    } catch {
      // The channel closed meanwhile: the broker redelivers.
    }
  }
}

/** String headers as event metadata, query-escaped as contrib does so they can travel as HTTP headers. */
export function headersToMetadata(headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (typeof v === 'string') out[goQueryEscape(k)] = goQueryEscape(v);
  }
  return out;
}

/** Go's url.QueryEscape: everything but A-Z a-z 0-9 - _ . ~ escaped, space as '+'. */
export function goQueryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}
