// State rpcs of dapr.proto.runtime.v1.Dapr: proto messages <-> StateCore calls. Values are bytes
// and pass through verbatim (no JSON encoding, unlike the HTTP face).
import type * as grpc from '@grpc/grpc-js';
import type { StateCore, StateItemInput } from '../../core/state';
import { isQueryable, type Query } from '../../components/state/types';
import { errMessage, RuntimeError } from '../../errors/runtime-error';
import { bulkItemOut } from '../grpc/handlers';
import { unary } from './handlers';
import type * as M from './messages';

const CONCURRENCY: Record<string, string> = {
  CONCURRENCY_FIRST_WRITE: 'first-write',
  CONCURRENCY_LAST_WRITE: 'last-write',
  1: 'first-write',
  2: 'last-write',
};
const CONSISTENCY: Record<string, string> = {
  CONSISTENCY_EVENTUAL: 'eventual',
  CONSISTENCY_STRONG: 'strong',
  1: 'eventual',
  2: 'strong',
};

/** Enum value -> core option string; UNSPECIFIED and unknown values mean "not set", as in daprd. */
export const concurrencyOf = (v: string | number | undefined): string | undefined => (v === undefined ? undefined : CONCURRENCY[v]);
export const consistencyOf = (v: string | number | undefined): string | undefined => (v === undefined ? undefined : CONSISTENCY[v]);

function optionsOf(o: M.StateOptions | null | undefined): StateItemInput['options'] {
  if (!o) return undefined;
  return { concurrency: concurrencyOf(o.concurrency), consistency: consistencyOf(o.consistency) };
}

function itemOf(s: M.StateItem | null | undefined): StateItemInput {
  const metadata = s?.metadata ?? {};
  return {
    key: s?.key ?? '',
    value: s?.value ?? Buffer.alloc(0),
    etag: s?.etag ? s.etag.value : undefined,
    metadata,
    options: optionsOf(s?.options),
    contentType: metadata.contentType || undefined,
  };
}

export function stateHandlers(state: StateCore): grpc.UntypedServiceImplementation {
  return {
    GetState: unary(async (req: M.GetStateRequest): Promise<M.GetStateResponse> => {
      const res = await state.get(req.store_name, req.key, req.metadata, consistencyOf(req.consistency));
      // A missing key is an empty answer, not an error.
      return { data: res?.data ?? Buffer.alloc(0), etag: res?.etag ?? '', metadata: res?.metadata ?? {} };
    }),

    GetBulkState: unary(async (req: M.GetBulkStateRequest): Promise<{ items: M.BulkStateItem[] }> => {
      if (req.keys.length === 0) {
        state.store(req.store_name);
        return { items: [] };
      }
      const items = await state.bulkGet(req.store_name, req.keys, req.parallelism, req.metadata);
      return {
        items: items.map(bulkItemOut),
      };
    }),

    SaveState: unary(async (req: M.SaveStateRequest): Promise<M.Empty> => {
      await state.save(req.store_name, req.states.map(itemOf));
      return {};
    }),

    DeleteState: unary(async (req: M.DeleteStateRequest): Promise<M.Empty> => {
      await state.delete(req.store_name, req.key, req.etag ? req.etag.value : undefined, optionsOf(req.options), req.metadata);
      return {};
    }),

    DeleteBulkState: unary(async (req: M.DeleteBulkStateRequest): Promise<M.Empty> => {
      await state.bulkDelete(req.store_name, req.states.map(itemOf));
      return {};
    }),

    ExecuteStateTransaction: unary(async (req: M.ExecuteStateTransactionRequest): Promise<M.Empty> => {
      const ops = req.operations.map((op) => ({ operation: op.operationType, request: itemOf(op.request) }));
      await state.transaction(req.storeName, ops, req.metadata);
      return {};
    }),

    QueryStateAlpha1: unary(async (req: M.QueryStateRequest): Promise<M.QueryStateResponse> => {
      const res = await state.query(req.store_name, parseQuery(state, req), req.metadata);
      return {
        results: res.results.map((r) => ({ key: r.key, data: r.data, etag: r.etag ?? '', error: r.error ?? '' })),
        token: res.token ?? '',
        metadata: res.metadata ?? {},
      };
    }),
  };
}

/** The query travels as a JSON string. daprd checks store and query support before parsing it. */
function parseQuery(state: StateCore, req: M.QueryStateRequest): Query {
  try {
    return JSON.parse(req.query) as Query;
  } catch (e) {
    const store = state.store(req.store_name);
    if (!isQueryable(store)) return {}; // core then reports "does not support querying"
    throw new RuntimeError('STATE_QUERY', req.store_name, `failed to parse JSON query body: ${errMessage(e)}`).withResource(
      'state',
      req.store_name,
    );
  }
}
