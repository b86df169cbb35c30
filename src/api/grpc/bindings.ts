// InvokeBinding for both gRPC faces: Dapr's and Layotto's request and response carry the same
// fields (name, data, metadata, operation / data, metadata). daprd also copies the call's own
// metadata into the request metadata and answers the binding's response metadata as
// `metadata.<key>` headers, on failures too; Layotto does neither. Each face passes its `unary`.
import type * as grpc from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';
import { type BindingsCore, OutputBindingError } from '../../core/bindings';
import type { unaryWith } from './handlers';
import { traceOf } from './pubsub';

type StringMap = Record<string, string>;

interface InvokeBindingRequest {
  name: string;
  data: Buffer;
  metadata: StringMap;
  operation: string;
}

interface InvokeBindingResponse {
  data: Buffer;
  metadata: StringMap;
}

export interface InvokeBindingOptions {
  /** daprd: the call's metadata joins the request metadata, and response metadata goes out as headers. */
  daprMetadata?: boolean;
}

/**
 * The call's metadata as daprd adds it to the request's: binary values left out, grpc-* renamed
 * dapr-grpc-*, keys the request already has kept (trace context excepted: the core takes it from the call).
 */
function withCallMetadata(md: StringMap, call: { metadata: grpc.Metadata }): StringMap {
  const out = { ...md };
  for (const [key, values] of Object.entries(call.metadata.toJSON())) {
    if (key.endsWith('-bin') || key === 'traceparent' || key === 'tracestate' || key === 'baggage') continue;
    const name = key.startsWith('grpc-') ? `dapr-${key}` : key;
    const v = values[0];
    if (!(name in out) && typeof v === 'string') out[name] = v;
  }
  return out;
}

/** Response metadata as `metadata.<key>` headers; a key or value gRPC cannot carry is left out. */
function responseHeaders(md: StringMap): Metadata {
  const out = new Metadata();
  for (const [k, v] of Object.entries(md)) {
    try {
      out.set(`metadata.${k.toLowerCase()}`, v);
    } catch {
      // not a legal metadata key or value
    }
  }
  return out;
}

export function invokeBindingHandler(bindings: BindingsCore, unary: ReturnType<typeof unaryWith>, opts: InvokeBindingOptions = {}): grpc.handleUnaryCall<InvokeBindingRequest, InvokeBindingResponse> {
  return unary(async (req: InvokeBindingRequest, call): Promise<InvokeBindingResponse> => {
    const trace = traceOf(call);
    const baggage = call.metadata.get('baggage').filter((v): v is string => typeof v === 'string');
    const metadata = opts.daprMetadata ? withCallMetadata(req.metadata, call) : req.metadata;
    try {
      const res = await bindings.invoke({ name: req.name, operation: req.operation, data: req.data, metadata, ...trace, baggage: baggage.join(',') || undefined });
      if (opts.daprMetadata && res) call.sendMetadata(responseHeaders(res.metadata));
      return { data: res?.data ?? Buffer.alloc(0), metadata: res?.metadata ?? {} };
    } catch (e) {
      if (opts.daprMetadata && e instanceof OutputBindingError) call.sendMetadata(responseHeaders(e.responseMetadata));
      throw e;
    }
  });
}
