// An InvokeService request of either gRPC face (Dapr's common.v1.InvokeRequest or Layotto's
// CommonInvokeRequest: the same fields) as the core's InvokeRequest.
import type * as grpc from '@grpc/grpc-js';
import { Readable } from 'node:stream';
import { verbName } from '../../core/invoke/status-codes';
import type { Headers, InvokeRequest } from '../../core/invoke/types';
import { headersOf } from './invoke-metadata';

export interface GrpcInvokeMessage {
  method: string;
  data: { type_url: string; value: Buffer } | null;
  content_type: string;
  http_extension: { verb: string | number; querystring: string } | null;
}

/** `verb` is used when http_extension has none (Dapr: POST, Layotto: GET). */
export function invokeRequestOf(id: string, msg: GrpcInvokeMessage | null, md: grpc.Metadata, verb: string, extra: Headers = {}): InvokeRequest {
  const data = msg?.data?.value ?? Buffer.alloc(0);
  return {
    appId: id,
    method: msg?.method ?? '',
    verb: verbName(msg?.http_extension?.verb, verb),
    query: msg?.http_extension?.querystring ?? '',
    headers: { ...headersOf(md), ...extra },
    contentType: msg?.content_type ?? '',
    body: Readable.from(data.length > 0 ? [data] : []),
    length: data.length,
    ...(msg?.data?.type_url ? { dataTypeUrl: msg.data.type_url } : {}),
  };
}
