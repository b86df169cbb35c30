// sequencer.in-memory: one counter per key in this process; segments reserve a range at once.
import type { ComponentMetadata } from '../../types';
import { commonInit } from '../metadata';
import type { GetNextIdRequest, SequencerStore } from '../types';

export class InMemorySequencer implements SequencerStore {
  private readonly counters = new Map<string, bigint>();

  async init(md: ComponentMetadata): Promise<void> {
    for (const [key, n] of commonInit(md)) this.counters.set(key, n);
  }

  features(): readonly string[] {
    return [];
  }

  async getNextId(req: GetNextIdRequest): Promise<bigint> {
    return this.advance(req.key, 1n);
  }

  async getSegment(req: { key: string; size: number }): Promise<{ from: bigint; to: bigint }> {
    const to = this.advance(req.key, BigInt(req.size));
    return { from: to - BigInt(req.size) + 1n, to };
  }

  async close(): Promise<void> {
    this.counters.clear();
  }

  private advance(key: string, by: bigint): bigint {
    const next = (this.counters.get(key) ?? 0n) + by;
    this.counters.set(key, next);
    return next;
  }
}
