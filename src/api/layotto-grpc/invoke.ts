// Layotto's InvokeService (spec.proto.runtime.v1.Runtime). Layotto hands the call to MOSN as an
// HTTP request; here it goes through the invocation core to the app `id` names, with Layotto's
// semantics: verb from http_extension (GET when none), the query string, the caller's metadata as
// headers plus `id: <id>`, a deadline from the `rpc_request_timeout` metadata (ms, default 3000),
// and any answer but HTTP 200 as UNAVAILABLE "http response code <n>, body: <body>".
import * as grpc from '@grpc/grpc-js';
import { CallSignal } from '../../core/call-signal';
import type { InvokeCore } from '../../core/invoke';
import { isRuntimeError } from '../../errors/runtime-error';
import { toLayottoGrpc } from '../../errors/to-grpc';
import { unaryWith } from '../grpc/handlers';
import { metadataOf } from '../grpc/invoke-metadata';
import { type GrpcInvokeMessage, invokeRequestOf } from '../grpc/invoke-request';

export interface LayottoInvokeServiceRequest {
  id: string;
  message: GrpcInvokeMessage | null;
}

interface LayottoInvokeResponse {
  data: { type_url: string; value: Buffer };
  content_type: string;
}

export const DEFAULT_TIMEOUT_MS = 3000;

/** A status built here (Layotto's own wording), passed through untouched. */
class InvokeStatus extends Error {
  constructor(
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(details);
  }
}

function timeoutOf(md: grpc.Metadata): number {
  const v = md.get('rpc_request_timeout')[0];
  const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : 0;
  return n > 0 ? n : DEFAULT_TIMEOUT_MS;
}

async function invokeService(invoke: InvokeCore, call: grpc.ServerUnaryCall<LayottoInvokeServiceRequest, LayottoInvokeResponse>): Promise<LayottoInvokeResponse> {
  const { id, message: msg } = call.request;
  const timeoutMs = timeoutOf(call.metadata);
  // One light signal for both the deadline and the caller going away (see core/call-signal).
  const signal = new CallSignal();
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    signal.abort(new DOMException(`invoke timed out after ${timeoutMs}ms`, 'TimeoutError'));
  }, timeoutMs);
  call.once('cancelled', () => signal.abort());
  try {
    const { dataTypeUrl: _layottoIgnoresIt, ...req } = invokeRequestOf(id, msg, call.metadata, 'GET', { id: [id] });
    const res = await invoke.invoke(req, signal);
    const body = res.whole ?? Buffer.concat(await res.body.toArray());
    if (res.grpc && res.grpc.code !== grpc.status.OK) throw new InvokeStatus(res.grpc.code, res.grpc.message);
    if (!res.grpc && res.status !== 200) throw new InvokeStatus(grpc.status.UNAVAILABLE, `http response code ${res.status}, body: ${body.toString('utf8')}`);
    const { 'content-length': _length, ...headers } = res.headers;
    call.sendMetadata(metadataOf(headers, { fromHttp: false }));
    return { data: { type_url: '', value: body }, content_type: res.contentType };
  } catch (e) {
    if (timedOut) throw new InvokeStatus(grpc.status.DEADLINE_EXCEEDED, `invoke timed out after ${timeoutMs}ms`);
    // Layotto reports a failed call as UNAVAILABLE with the cause alone.
    if (isRuntimeError(e) && e.kind === 'DIRECT_INVOKE') throw new InvokeStatus(grpc.status.UNAVAILABLE, String(e.args[1]));
    // The callee's access control said no (Layotto has none of its own): PERMISSION_DENIED, the cause alone.
    if (isRuntimeError(e) && e.kind === 'DIRECT_INVOKE_FORBIDDEN') throw new InvokeStatus(grpc.status.PERMISSION_DENIED, String(e.args[1]));
    throw e;
  } finally {
    clearTimeout(deadline);
  }
}

const unary = unaryWith((e) => (e instanceof InvokeStatus ? Object.assign(e, { metadata: new grpc.Metadata() }) : toLayottoGrpc(e)));

export function invokeHandlers(invoke: InvokeCore): grpc.UntypedServiceImplementation {
  return { InvokeService: unary((_req: LayottoInvokeServiceRequest, call) => invokeService(invoke, call)) };
}
