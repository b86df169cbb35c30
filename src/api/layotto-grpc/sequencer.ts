// GetNextId of spec.proto.runtime.v1.Runtime. next_id is int64 (jstype JS_STRING): the loader
// keeps longs as strings, so the bigint goes out as its decimal string, exactly.
import type * as grpc from '@grpc/grpc-js';
import type { SequencerCore } from '../../core/sequencer';
import { unary } from './handlers';

interface GetNextIdRequest {
  store_name: string;
  key: string;
  options: { increment: number } | null;
  metadata: Record<string, string>;
}

export function sequencerHandlers(sequencer: SequencerCore): grpc.UntypedServiceImplementation {
  return {
    GetNextId: unary(async (req: GetNextIdRequest): Promise<{ next_id: string }> => {
      const id = await sequencer.getNextId({ storeName: req.store_name, key: req.key, increment: req.options?.increment, metadata: req.metadata });
      return { next_id: id.toString() };
    }),
  };
}
