// What every counter-backed sequencer shares: an id is one step of the counter, a segment is `size`
// steps taken at once; each store only says how to advance its counter atomically.
import type { ComponentMetadata } from '../types';
import type { GetNextIdRequest, SequencerStore } from './types';

export abstract class CounterSequencer implements SequencerStore {
  abstract init(md: ComponentMetadata): Promise<void>;
  abstract close(): Promise<void>;
  /** Adds `by` to the key's counter atomically and returns the new value. */
  protected abstract advance(key: string, by: number): Promise<bigint>;

  features(): readonly string[] {
    return [];
  }

  getNextId(req: GetNextIdRequest): Promise<bigint> {
    return this.advance(req.key, 1);
  }

  async getSegment(req: { key: string; size: number }): Promise<{ from: bigint; to: bigint }> {
    const to = await this.advance(req.key, req.size);
    return { from: to - BigInt(req.size) + 1n, to };
  }
}
