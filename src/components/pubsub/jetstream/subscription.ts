// Runs one topic's handler over its pull consumer: ack once the handler resolves, nak when it
// rejects (delayed by ackWait when set, as contrib does) so the server redelivers. "single" keeps
// one message in the handler at a time and pulls one ahead at most, so ackWait stays a deadline
// for processing rather than for queueing; "parallel" runs handlers as messages arrive, bounded
// by the consumer's maxAckPending.
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { MessageHandler, Subscription } from '../types';

export interface RunOptions {
  parallel: boolean;
  /** Nak delay in ms; undefined = redeliver at once. */
  nakDelay?: number;
}

export const pullBatch = (parallel: boolean, maxAckPending: number | undefined) => (parallel ? (maxAckPending ?? 100) : 1);

export class TopicSubscription implements Subscription {
  private open = true;
  private readonly inflight = new Set<Promise<void>>();
  private readonly done: Promise<void>;

  constructor(
    private readonly messages: ConsumerMessages,
    private readonly handler: MessageHandler,
    private readonly opts: RunOptions,
    private readonly onClose: () => void,
  ) {
    this.done = this.run();
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    this.onClose();
    await this.messages.close().catch(() => undefined);
    await this.done;
    // Handlers already running finish and ack, so a clean stop causes no redelivery.
    await Promise.allSettled([...this.inflight]);
  }

  private async run(): Promise<void> {
    try {
      for await (const m of this.messages) {
        // Pulled but not handed over before close: give it back now rather than after ackWait.
        if (!this.open) {
          settle(() => m.nak());
          continue;
        }
        const p = this.process(m);
        if (!this.opts.parallel) {
          await p;
          continue;
        }
        this.inflight.add(p);
        void p.finally(() => this.inflight.delete(p));
      }
    } catch {
      // The iterator ends with an error when the connection closes under it; nothing to deliver.
    }
  }

  private async process(m: JsMsg): Promise<void> {
    let ok = false;
    try {
      await this.handler({
        topic: m.subject,
        data: Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength),
        metadata: { Topic: m.subject },
      });
      ok = true;
    } catch {
      // Rejected: must come again.
    }
    settle(() => (ok ? m.ack() : m.nak(this.opts.nakDelay)));
  }
}

/** Acks go out on a connection that may be closed by now; then the server redelivers after ackWait. */
function settle(fn: () => void): void {
  try {
    fn();
  } catch {
    // ignored: see above
  }
}
