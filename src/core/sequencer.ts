// The sequencer building block (Layotto's GetNextId), written once. STRONG always asks the store;
// WEAK (the default) is served from a per-key segment cache when the store can reserve segments,
// so most ids cost no round trip. Ids are unique per key; WEAK ids from different sidecars
// interleave (each sidecar's own sequence still increases).
import { errMessage, RuntimeError } from '../errors/runtime-error';
import { segmentSettings, sequencerKey } from '../components/sequencer/metadata';
import type { SequencerStore } from '../components/sequencer/types';
import type { CoreContext } from './context';

/** Wire values of SequencerOptions.AutoIncrement. */
export const AutoIncrement = { WEAK: 0, STRONG: 1 } as const;

export interface GetNextIdInput {
  storeName: string;
  key: string;
  increment?: number;
  metadata?: Record<string, string>;
}

/** Ids reserved from the store for one key, handed out in order; one refill in flight at a time. */
class Segment {
  private next = 1n;
  private to = 0n;
  private refill?: Promise<void>;

  constructor(private readonly fetch: () => Promise<{ from: bigint; to: bigint }>) {}

  async take(): Promise<bigint> {
    for (;;) {
      // Check and increment with no await between them: concurrent callers never share an id.
      if (this.next <= this.to) return this.next++;
      this.refill ??= this.fetch()
        .then((seg) => {
          this.next = seg.from;
          this.to = seg.to;
        })
        .finally(() => (this.refill = undefined));
      await this.refill;
    }
  }
}

export class SequencerCore {
  /** Keyed by the live instance, so a reloaded component starts with a fresh cache. */
  private readonly segments = new WeakMap<SequencerStore, Map<string, Segment>>();

  constructor(private readonly ctx: CoreContext) {}

  /** Layotto's order: configured → key → store exists; then the stored key, then the store. */
  async getNextId(req: GetNextIdInput): Promise<bigint> {
    if (this.ctx.components.count('sequencer') === 0) throw new RuntimeError('SEQUENCER_STORE_NOT_CONFIGURED');
    if (!req.key) throw new RuntimeError('SEQUENCER_KEY_EMPTY', req.storeName);
    const live = this.ctx.components.get('sequencer', req.storeName);
    if (!live) throw new RuntimeError('SEQUENCER_STORE_NOT_FOUND', req.storeName);
    const metadata = req.metadata ?? {};
    try {
      const key = sequencerKey(live.meta, req.key);
      const store = live.instance;
      const { enabled, step } = segmentSettings(live.meta.properties);
      if (req.increment === AutoIncrement.STRONG || !enabled || !store.getSegment) return await store.getNextId({ key, metadata });
      return await this.segment(store, key, step, metadata).take();
    } catch (e) {
      if (e instanceof RuntimeError) throw e;
      throw new RuntimeError('GET_NEXT_ID', errMessage(e));
    }
  }

  private segment(store: SequencerStore, key: string, size: number, metadata: Record<string, string>): Segment {
    let byKey = this.segments.get(store);
    if (!byKey) this.segments.set(store, (byKey = new Map()));
    let seg = byKey.get(key);
    if (!seg) byKey.set(key, (seg = new Segment(() => store.getSegment!({ key, size, metadata }))));
    return seg;
  }
}
