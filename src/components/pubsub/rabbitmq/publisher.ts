// Publishing on one confirm channel: publish resolves only once the broker has confirmed the
// message (persisted, for persistent messages on durable queues). Exchanges are declared once per
// channel. A channel the broker closed (e.g. an auto-deleted exchange: 404) is replaced and the
// publish retried; with no connection, publish waits a bounded time for the reconnect, and the
// whole publish is bounded by the same time.
import type { ConfirmChannel, Options } from 'amqplib';
import type { RabbitMQConfig } from './metadata';
import { closeQuietly, type AmqpSession } from './session';
import { withDeadline } from '../../common/deadline';
import { declareExchange } from './topology';

const ATTEMPTS = 3;
export const CONFIRM_GRACE_MS = 1000;

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

  /**
   * Resolves once the broker confirmed. Bounded by waitMs as a whole: on a stalled connection
   * (a partition) neither the confirm nor a new channel would come until heartbeats give up.
   */
  publish(topic: string, key: string, content: Buffer, options: Options.Publish): Promise<void> {
    // A little past the reconnect wait, so "not connected" is the reason when that is what happened.
    const bound = this.waitMs + CONFIRM_GRACE_MS;
    const noConfirm = () => new Error(`rabbitmq pub/sub: publishing to ${topic} failed: no confirm from ${this.cfg.address} within ${bound} ms`);
    return withDeadline(this.attempts(topic, key, content, options), bound, noConfirm);
  }

  private async attempts(topic: string, key: string, content: Buffer, options: Options.Publish): Promise<void> {
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
export function confirmed(ch: ConfirmChannel, exchange: string, key: string, content: Buffer, options: Options.Publish): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      ch.publish(exchange, key, content, options, (err: unknown) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()));
    } catch (e) {
      reject(e as Error);
    }
  });
}
