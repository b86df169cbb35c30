// The sequencer contract (Layotto's sequencer.Store): unique, increasing ids per key.
import type { Component } from '../types';

export interface GetNextIdRequest {
  key: string;
  metadata: Record<string, string>;
}

export interface SequencerStore extends Component {
  getNextId(req: GetNextIdRequest): Promise<bigint>;
  /** Optional: reserve ids (from..to inclusive) for the runtime's WEAK segment cache. */
  getSegment?(req: { key: string; size: number; metadata: Record<string, string> }): Promise<{ from: bigint; to: bigint }>;
}
