// State rpcs of spec.proto.runtime.v1.Runtime: Layotto messages <-> the same StateCore calls the
// Dapr faces make (as Layotto's default_api converts to its Dapr API). Values are raw bytes.
//
// Key prefixes: Layotto's own default keyPrefix strategy is `none`, Dapr's is `appid`. A component
// must read back the same through every API, so StateCore applies the component's single strategy
// (metadata keyPrefix, default appid) whichever face calls it; this face adds no prefix of its own.
import type * as grpc from '@grpc/grpc-js';
import type { StateCore, StateItemInput, TransactionOpInput } from '../../core/state';
import { bulkItemOut } from '../grpc/handlers';
import { unary } from './handlers';
import type * as M from './messages';

const CONCURRENCY: Record<number, string> = { 1: 'first-write', 2: 'last-write' };
const CONSISTENCY: Record<number, string> = { 1: 'eventual', 2: 'strong' };

/** UNSPECIFIED (0) and unknown enum numbers mean "not set", as in Layotto's converters. */
const consistencyOf = (v: number | undefined) => (v === undefined ? undefined : CONSISTENCY[v]);
const concurrencyOf = (v: number | undefined) => (v === undefined ? undefined : CONCURRENCY[v]);

function optionsOf(o: M.StateOptions | null): StateItemInput['options'] {
  return o ? { concurrency: concurrencyOf(o.concurrency), consistency: consistencyOf(o.consistency) } : undefined;
}

/** The Layotto JS SDK sends etag "0" whenever the user gives none: that means "no etag". */
export function etagOf(e: M.Etag | null | undefined): string | undefined {
  const v = e?.value;
  return v && v !== '0' ? v : undefined;
}

function itemOf(s: M.StateItem): StateItemInput {
  const metadata = s.metadata ?? {};
  return {
    key: s.key,
    value: s.value ?? Buffer.alloc(0),
    etag: etagOf(s.etag),
    metadata,
    options: optionsOf(s.options),
    contentType: metadata.contentType || undefined,
  };
}

const EMPTY: M.Empty = {};

export function stateHandlers(state: StateCore): grpc.UntypedServiceImplementation {
  return {
    GetState: unary(async (req: M.GetStateRequest): Promise<M.GetStateResponse> => {
      const res = await state.get(req.store_name, req.key, req.metadata, consistencyOf(req.consistency));
      // A missing key is an empty answer (the SDK turns empty data + empty etag into null).
      return { data: res?.data ?? Buffer.alloc(0), etag: res?.etag ?? '', metadata: res?.metadata ?? {} };
    }),

    GetBulkState: unary(async (req: M.GetBulkStateRequest): Promise<{ items: M.BulkStateItem[] }> => {
      const items = await state.bulkGet(req.store_name, req.keys, req.parallelism, req.metadata);
      return {
        items: items.map(bulkItemOut),
      };
    }),

    SaveState: unary(async (req: M.SaveStateRequest): Promise<M.Empty> => {
      await state.save(req.store_name, req.states.map(itemOf));
      return EMPTY;
    }),

    DeleteState: unary(async (req: M.DeleteStateRequest): Promise<M.Empty> => {
      await state.delete(req.store_name, req.key, etagOf(req.etag), optionsOf(req.options), req.metadata);
      return EMPTY;
    }),

    DeleteBulkState: unary(async (req: M.DeleteBulkStateRequest): Promise<M.Empty> => {
      await state.bulkDelete(req.store_name, req.states.map(itemOf));
      return EMPTY;
    }),

    ExecuteStateTransaction: unary(async (req: M.ExecuteStateTransactionRequest): Promise<M.Empty> => {
      // Layotto skips operations without a request instead of failing the transaction.
      const ops: TransactionOpInput[] = req.operations
        .filter((op) => op.request)
        .map((op) => ({ operation: op.operationType, request: itemOf(op.request!) }));
      await state.transaction(req.storeName, ops, req.metadata);
      return EMPTY;
    }),
  };
}
