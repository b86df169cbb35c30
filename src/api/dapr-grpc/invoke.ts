// InvokeService of dapr.proto.runtime.v1.Dapr (deprecated by daprd in favour of gRPC proxying, but
// served). The call goes through the invocation core like every other; the answer comes back as
// daprd shapes it: a gRPC app's status as the call's status; an HTTP app's status in the
// `dapr-http-status` header, a non-2xx one as a gRPC error (CodeFromHTTPStatus, with an ErrorInfo
// holding the HTTP code and the start of the body).
import * as grpc from '@grpc/grpc-js';
import { CallSignal } from '../../core/call-signal';
import type { InvokeCore } from '../../core/invoke';
import { grpcCodeFromHttp, httpStatusText } from '../../core/invoke/status-codes';
import { isRuntimeError } from '../../errors/runtime-error';
import { statusWithErrorInfo, toGrpc } from '../../errors/to-grpc';
import { unaryWith } from '../grpc/handlers';
import { metadataOf } from '../grpc/invoke-metadata';
import { type GrpcInvokeMessage, invokeRequestOf } from '../grpc/invoke-request';

export interface InvokeServiceRequest {
  id: string;
  message: GrpcInvokeMessage | null;
}

interface InvokeResponseMsg {
  data: { type_url: string; value: Buffer };
  content_type: string;
}

/** ErrorInfo metadata values are limited to 63 characters (daprd's maxMetadataValueLen). */
const MAX_DETAIL = 63;

async function invokeService(invoke: InvokeCore, call: grpc.ServerUnaryCall<InvokeServiceRequest, InvokeResponseMsg>): Promise<InvokeResponseMsg> {
  const abort = new CallSignal();
  call.once('cancelled', () => abort.abort());
  const res = await invoke.invoke(invokeRequestOf(call.request.id, call.request.message, call.metadata, 'POST'), abort);
  const body = res.whole ?? Buffer.concat(await res.body.toArray());
  const answer = { data: { type_url: res.dataTypeUrl ?? '', value: body }, content_type: res.contentType };
  if (res.grpc) {
    call.sendMetadata(metadataOf(res.headers, { fromHttp: false }));
    if (res.grpc.code !== grpc.status.OK) throw Object.assign(new Error(res.grpc.message), { code: res.grpc.code, details: res.grpc.message, metadata: metadataOf(res.trailers ?? {}, { fromHttp: false }) });
    return answer;
  }
  const md = metadataOf(res.headers, { fromHttp: true });
  md.set('dapr-http-status', String(res.status));
  call.sendMetadata(md);
  const code = grpcCodeFromHttp(res.status);
  if (code !== grpc.status.OK) {
    const text = httpStatusText(res.status);
    throw statusWithErrorInfo(code, text, { reason: text, metadata: { 'http.code': String(res.status), 'http.error_message': body.toString('utf8').slice(0, MAX_DETAIL) } });
  }
  return answer;
}

/** A status the target answered with goes back as it is; everything else through the error table. */
const toStatus = (e: unknown): grpc.ServiceError =>
  isRuntimeError(e) || typeof (e as { code?: unknown } | null)?.code !== 'number' ? toGrpc(e) : (e as grpc.ServiceError);

const unary = unaryWith(toStatus);

export function invokeHandlers(invoke: InvokeCore): grpc.UntypedServiceImplementation {
  return { InvokeService: unary((_req: InvokeServiceRequest, call) => invokeService(invoke, call)) };
}
