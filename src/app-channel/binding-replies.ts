// The app's answer to an input-binding event, read from either wire into one AppBindingReply.
// HTTP: a JSON body {storeName, state:[{key, value, etag, metadata, options}], to, data,
// concurrency} (Dapr's documented "HTTP response body"), read leniently: anything else is an answer
// that asks for nothing. gRPC: BindingEventResponse. Either way the bytes sent on to the bindings
// in `to` are the JSON of `data` (daprd json.Marshal's what it decoded, so non-JSON gRPC data
// becomes null).
import { goField, isJsonObject } from './json-fields';
import type { AppBindingReply, AppBindingState } from './types';

type Json = Record<string, unknown>;

const NULL = Buffer.from('null');
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isJsonObject(v)) for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

export const emptyReply = (body: Buffer): AppBindingReply => ({ body, storeName: '', states: [], to: [], data: NULL, concurrency: 'sequential' });

export function bindingReplyFromHttp(body: Buffer): AppBindingReply {
  const reply = emptyReply(body);
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return reply; // empty or not JSON: a plain acknowledgement
  }
  if (!isJsonObject(json)) return reply;
  const state = goField(json, 'state');
  reply.storeName = str(goField(json, 'storeName'));
  reply.states = (Array.isArray(state) ? state : []).filter(isJsonObject).map(httpState);
  reply.to = strings(goField(json, 'to'));
  reply.data = Buffer.from(JSON.stringify(goField(json, 'data') ?? null));
  reply.concurrency = goField(json, 'concurrency') === 'parallel' ? 'parallel' : 'sequential';
  return reply;
}

function httpState(item: Json): AppBindingState {
  const options = goField(item, 'options');
  const etag = goField(item, 'etag');
  return {
    key: str(goField(item, 'key')),
    value: Buffer.from(JSON.stringify(goField(item, 'value') ?? null)),
    etag: typeof etag === 'string' ? etag : undefined,
    metadata: stringMap(goField(item, 'metadata')),
    options: isJsonObject(options) ? { concurrency: str(goField(options, 'concurrency')) || undefined, consistency: str(goField(options, 'consistency')) || undefined } : undefined,
    contentType: 'application/json',
  };
}

/** BindingEventResponse as proto-loader gives it (keepCase, enums as strings, bytes as Buffers). */
export function bindingReplyFromGrpc(res: Json): AppBindingReply {
  const raw = Buffer.isBuffer(res.data) ? res.data : Buffer.alloc(0);
  const reply = emptyReply(raw);
  reply.storeName = str(res.store_name);
  reply.states = (Array.isArray(res.states) ? res.states : []).filter(isJsonObject).map(grpcState);
  reply.to = strings(res.to);
  reply.concurrency = res.concurrency === 'PARALLEL' ? 'parallel' : 'sequential';
  if (raw.length > 0) {
    try {
      reply.data = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))));
    } catch {
      // Not JSON: daprd sends null.
    }
  }
  return reply;
}

const GRPC_CONCURRENCY: Record<string, string> = { CONCURRENCY_FIRST_WRITE: 'first-write', CONCURRENCY_LAST_WRITE: 'last-write' };
const GRPC_CONSISTENCY: Record<string, string> = { CONSISTENCY_EVENTUAL: 'eventual', CONSISTENCY_STRONG: 'strong' };

function grpcState(item: Json): AppBindingState {
  const etag = isJsonObject(item.etag) ? str(item.etag.value) : '';
  const options = isJsonObject(item.options) ? item.options : undefined;
  return {
    key: str(item.key),
    value: Buffer.isBuffer(item.value) ? item.value : Buffer.alloc(0),
    etag: etag || undefined,
    metadata: stringMap(item.metadata),
    options: options ? { concurrency: GRPC_CONCURRENCY[str(options.concurrency)], consistency: GRPC_CONSISTENCY[str(options.consistency)] } : undefined,
  };
}
