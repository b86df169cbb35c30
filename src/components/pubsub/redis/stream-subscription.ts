// One topic's subscription: a blocking XREADGROUP loop on its own connection (a blocked
// connection can serve nothing else) feeds new entries to the component's queue, and a reclaim
// loop XCLAIMs entries left pending longer than processingTimeout (handler rejected, process
// died, ack lost) every redeliverInterval. Entries are acknowledged only after the handler
// resolved. Both loops outlive Redis outages: ioredis reconnects, they retry.
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, type Redis } from 'ioredis';
import { connectRedis } from '../../common/redis';
import type { MessageHandler, Subscription } from '../types';
import { claimReply, decodeEntry, pendingReply, readReply, type RawEntry, type StreamEntry } from './entry';
import { redeliveryEnabled, type StreamsConfig } from './metadata';
import type { WorkQueue } from './work-queue';

/** Pause after a failed read before the next try (Redis away, group gone). */
const RETRY_MS = 500;
/** How long one XREADGROUP blocks when readTimeout does not bound it. */
const BLOCK_MS = 2000;

export interface StreamsContext {
  /** The component's shared connection: group creation, acks, pending checks, claims. */
  client: Redis;
  cfg: StreamsConfig;
  queue: WorkQueue;
}

/** XGROUP CREATE <topic> <consumerID> 0 MKSTREAM; an existing group is fine. */
export async function ensureGroup(client: Redis, topic: string, group: string): Promise<void> {
  try {
    await client.xgroup('CREATE', topic, group, '0', 'MKSTREAM');
  } catch (e) {
    if (!(e as Error).message.startsWith('BUSYGROUP')) throw e;
  }
}

/** Resolves after ms, or at once when signal aborts (never rejects, leaves no timer). */
const pause = (ms: number, signal: AbortSignal): Promise<void> => sleep(ms, undefined, { signal }).catch(() => undefined);

/**
 * Sends one command and gives its reply with bulk strings as Buffers, so entry data stays
 * binary-safe (ioredis' typings lack some *Buffer variants, and its call() breaks under auto-pipelining).
 */
function sendBuffer(client: Redis, name: string, args: (string | number)[]): Promise<unknown> {
  const cmd = new Command(name, args, { replyEncoding: null });
  void client.sendCommand(cmd);
  return cmd.promise as Promise<unknown>;
}

/** The smallest stream id after `id` ("ms-seq"), for paging XPENDING on any Redis version. */
export function nextId(id: string): string {
  const [ms, seq] = id.split('-');
  return `${ms}-${BigInt(seq ?? '0') + 1n}`;
}

export class StreamSubscription implements Subscription {
  private readonly stop = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private reader?: Redis;
  private readonly group: string;

  private constructor(
    private readonly ctx: StreamsContext,
    private readonly topic: string,
    private readonly handler: MessageHandler,
  ) {
    this.group = ctx.cfg.consumerID;
  }

  /** Creates the group and starts reading; resolves once entries added from now on will be delivered. */
  static async open(ctx: StreamsContext, topic: string, handler: MessageHandler): Promise<StreamSubscription> {
    const sub = new StreamSubscription(ctx, topic, handler);
    await ensureGroup(ctx.client, topic, sub.group);
    const reader = await connectRedis(ctx.cfg.redis, `redis streams reader for topic ${topic}`);
    sub.reader = reader;
    sub.loops.push(sub.readLoop(reader));
    if (redeliveryEnabled(ctx.cfg)) sub.loops.push(sub.reclaimLoop());
    return sub;
  }

  async close(): Promise<void> {
    if (this.stop.signal.aborted) return;
    this.stop.abort();
    // Rejects the blocked XREADGROUP; whatever it had already taken stays pending for a reclaim.
    this.reader?.disconnect();
    this.ctx.queue.drop(this);
    await Promise.all(this.loops);
  }

  private get blockMs(): number {
    const rt = this.ctx.cfg.redis.readTimeout;
    // ioredis times every command out after readTimeout, blocking ones included.
    return rt ? Math.max(1, Math.min(BLOCK_MS, Math.floor(rt / 2))) : BLOCK_MS;
  }

  private async readLoop(reader: Redis): Promise<void> {
    const { queue, client } = this.ctx;
    const signal = this.stop.signal;
    while (!signal.aborted) {
      await queue.waitForRoom(signal);
      if (signal.aborted) return;
      try {
        const reply = await sendBuffer(reader, 'xreadgroup', ['GROUP', this.group, this.group, 'COUNT', Math.max(1, queue.room()), 'BLOCK', this.blockMs, 'STREAMS', this.topic, '>']);
        this.enqueue(readReply(reply));
      } catch (e) {
        if (signal.aborted) return;
        // The server lost the group (restart without persistence, deleted key): make it again, as contrib does.
        if ((e as Error).message.includes('NOGROUP')) await ensureGroup(client, this.topic, this.group).catch(() => undefined);
        await pause(RETRY_MS, signal);
      }
    }
  }

  private async reclaimLoop(): Promise<void> {
    const signal = this.stop.signal;
    while (!signal.aborted) {
      try {
        await this.reclaim();
      } catch {
        // Redis away or the group gone: the next round tries again.
      }
      await pause(this.ctx.cfg.redeliverInterval, signal);
    }
  }

  /** Claims the group's entries pending for processingTimeout or more that this process does not hold. */
  private async reclaim(): Promise<void> {
    const { client, queue, cfg } = this.ctx;
    let start = '-';
    while (!this.stop.signal.aborted && queue.room() > 0) {
      const page = pendingReply(await client.xpending(this.topic, this.group, start, '+', cfg.queueDepth));
      const due = page
        .filter((p) => p.idleMs >= cfg.processingTimeout && !queue.holds(this.key(p.id)))
        .slice(0, queue.room())
        .map((p) => p.id);
      if (due.length > 0) {
        const claimed = claimReply(await sendBuffer(client, 'xclaim', [this.topic, this.group, this.group, cfg.processingTimeout, ...due]));
        this.enqueue(claimed);
        if (claimed.includes(null)) await this.ackVanished(due, claimed);
      }
      if (page.length < cfg.queueDepth) return;
      start = nextId(page[page.length - 1]!.id);
    }
  }

  /**
   * Redis < 7 keeps entries trimmed from the stream (maxLenApprox, streamTTL) pending and XCLAIM
   * answers nil for them: acknowledge those so they stop coming back. Redis 7 drops them itself.
   */
  private async ackVanished(asked: string[], claimed: (RawEntry | null)[]): Promise<void> {
    const got = new Set(claimed.flatMap((e) => (e ? [e[0].toString('utf8')] : [])));
    for (const id of asked) {
      if (got.has(id)) continue;
      const still = await this.ctx.client.xrange(this.topic, id, id);
      if (still.length === 0) await this.ctx.client.xack(this.topic, this.group, id);
    }
  }

  private key(id: string): string {
    return `${this.topic}\n${id}`;
  }

  private enqueue(entries: (RawEntry | null)[]): void {
    if (this.stop.signal.aborted) return;
    for (const raw of entries) {
      if (!raw) continue;
      const entry = decodeEntry(this.topic, raw);
      this.ctx.queue.push({ key: this.key(entry.id), owner: this, run: () => this.process(entry) });
    }
  }

  /** Handler resolved: XACK. Rejected, or the ack failed: the entry stays pending and is reclaimed later. */
  private async process({ id, message }: StreamEntry): Promise<void> {
    if (this.stop.signal.aborted) return;
    try {
      await this.handler(message);
    } catch {
      return;
    }
    await this.ctx.client.xack(this.topic, this.group, id).catch(() => undefined);
  }
}
