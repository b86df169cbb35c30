// Publishing on one confirm channel: publish resolves only once the broker has confirmed the
// message (persisted, for persistent messages on durable queues). Exchanges are declared once per
// channel. A channel the broker closed (e.g. an auto-deleted exchange: 404) is replaced and the
// publish retried; with no connection, publish waits a bounded time for the reconnect.
import type { ConfirmChannel, Options } from 'amqplib';
import type { RabbitMQConfig } from './metadata';
import { closeQuietly, type AmqpSession } from './session';
import { declareExchange } from './topology';

const ATTEMPTS = 3;

interface OpenChannel {
  channel: Promise<ConfirmChannel>;
  declared: Set<string>;
}

export class Publisher {
  private current?: OpenChannel;

  constructor(
    private readonly session: AmqpSession,
    private readonly cfg: RabbitMQConfig,
    /** How long one publish may wait for a lost connection to come back. */
    private readonly waitMs: number,
  ) {}

  async publish(topic: string, key: string, content: Buffer, options: Options.Publish): Promise<void> {
    const deadline = Date.now() + this.waitMs;
    let last: Error | undefined;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      let open: OpenChannel;
      try {
        open = await this.open(Math.max(deadline - Date.now(), 1));
      } catch (e) {
        // Not connected (and not coming back in time), or closed: retrying changes nothing.
        last = e as Error;
        break;
      }
      try {
        const ch = await open.channel;
        if (!open.declared.has(topic)) {
          await declareExchange(ch, topic, this.cfg);
          open.declared.add(topic);
        }
        await confirmed(ch, topic, key, content, options);
        return;
      } catch (e) {
        last = e as Error;
        this.drop(open);
      }
    }
    throw new Error(`rabbitmq pub/sub: publishing to ${topic} failed: ${last?.message ?? 'unknown error'}`);
  }

  async close(): Promise<void> {
    const open = this.current;
    this.current = undefined;
    if (open) await open.channel.then(closeQuietly, () => undefined);
  }

  private async open(waitMs: number): Promise<OpenChannel> {
    if (this.current) return this.current;
    const model = await this.session.ready(waitMs);
    // Re-checked: a concurrent publish may have opened one while this one waited.
    if (this.current) return this.current;
    const open: OpenChannel = { channel: model.createConfirmChannel(), declared: new Set() };
    this.current = open;
    open.channel.then(
      (ch) => {
        ch.on('error', () => undefined);
        ch.on('close', () => this.drop(open));
      },
      () => this.drop(open),
    );
    return open;
  }

  private drop(open: OpenChannel): void {
    if (this.current !== open) return;
    this.current = undefined;
    void open.channel.then(closeQuietly, () => undefined);
  }
}

/** Publishes and resolves on the broker's ack; a nack or a channel that closes first rejects. */
function confirmed(ch: ConfirmChannel, exchange: string, key: string, content: Buffer, options: Options.Publish): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      ch.publish(exchange, key, content, options, (err: unknown) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()));
    } catch (e) {
      reject(e as Error);
    }
  });
}
