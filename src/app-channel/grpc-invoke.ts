// Service invocation over AppCallback.OnInvoke (daprd's gRPC channel): the request becomes a
// common.v1.InvokeRequest, and whatever the call ends with — the app's answer or a status, the
// app's own or a transport failure's — becomes the response. daprd does not turn a gRPC status
// into an error here: an HTTP caller gets the status's HTTP mapping with the status as JSON.
import type { Metadata, ServiceError } from '@grpc/grpc-js';
import { Readable } from 'node:stream';
import { headersOf } from '../api/grpc/invoke-metadata';
import { httpStatusFromGrpc, verbName } from '../core/invoke/status-codes';
import type { InvokeRequest, InvokeResponse } from '../core/invoke/types';

type Json = Record<string, unknown>;

/** common.v1.InvokeRequest for proto-loader (keepCase, enums as names). */
export const onInvokeRequest = (req: InvokeRequest, data: Buffer): Json => ({
  method: req.method,
  data: { type_url: req.dataTypeUrl ?? '', value: data },
  content_type: req.contentType,
  // daprd's WithHTTPExtension: an unknown verb is POST.
  http_extension: { verb: verbName(req.verb, 'POST'), querystring: req.query },
});

export interface OnInvokeOutcome {
  err?: ServiceError;
  res?: Json;
  headers?: Metadata;
  trailers?: Metadata;
}

const bodyOf = (b: Buffer): Readable => Readable.from(b.length > 0 ? [b] : []);

export function invokeResponseOf(o: OnInvokeOutcome): InvokeResponse {
  const headers = headersOf(o.headers);
  const trailers = headersOf(o.trailers ?? o.err?.metadata);
  if (o.err) {
    const { code, details: message } = o.err;
    // protojson of google.rpc.Status: empty fields left out.
    const json = JSON.stringify(message ? { code, message } : { code });
    return { status: httpStatusFromGrpc(code), headers, trailers, contentType: 'application/json', body: bodyOf(Buffer.from(json)), grpc: { code, message } };
  }
  const data = (o.res?.data ?? null) as { type_url?: string; value?: Buffer } | null;
  return {
    status: 200,
    headers,
    trailers,
    contentType: typeof o.res?.content_type === 'string' ? o.res.content_type : '',
    body: bodyOf(data?.value ?? Buffer.alloc(0)),
    grpc: { code: 0, message: '' },
    ...(data?.type_url ? { dataTypeUrl: data.type_url } : {}),
  };
}
