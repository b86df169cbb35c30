// InvokeRequest/InvokeResponse ↔ daprd's InternalInvokeRequest/InternalInvokeResponse (as
// proto-loader reads them: keepCase, enums as names, uint64 as strings). Headers travel as the
// metadata map, the body as StreamPayload chunks after the leading message (CallLocalStream) or in
// message.data (unary CallLocal). A response's status.code is the HTTP status for HTTP apps and the
// gRPC code (0-16) for gRPC apps, as daprd tells them apart (>= 100 is HTTP).
import { Readable } from 'node:stream';
import { status as Grpc } from '@grpc/grpc-js';
import { HTTP_VERBS, httpStatusFromGrpc, verbName } from '../../core/invoke/status-codes';
import type { Headers, InvokeRequest, InvokeResponse } from '../../core/invoke/types';
import { WholeResponse } from '../../core/invoke/whole-response';

export interface WireList {
  values: string[];
}
export type WireMetadata = Record<string, WireList>;

export interface WireAny {
  type_url: string;
  value: Buffer;
}

export interface WireRequest {
  ver: string;
  metadata: WireMetadata;
  message: {
    method: string;
    data: WireAny | null;
    content_type: string;
    http_extension: { verb: string; querystring: string } | null;
  } | null;
}

export interface WireResponse {
  status: { code: number; message: string } | null;
  headers: WireMetadata;
  trailers: WireMetadata;
  message: { data: WireAny | null; content_type: string } | null;
}

export interface WirePayload {
  data: Buffer;
  seq: string;
}

/** The biggest StreamPayload sent: far below any gRPC message limit, big enough to be cheap. */
export const CHUNK_BYTES = 64 * 1024;

/** Transport-level metadata the caller adds for the callee sidecar, not for the app. */
const TRANSPORT_ONLY = new Set(['destination-app-id']);

export function toMetadata(h: Headers | undefined): WireMetadata {
  const md: WireMetadata = {};
  // Read-only on the way out: the encoder copies the strings, so the arrays go as they are.
  for (const k in h) if (h[k]!.length > 0) md[k] = { values: h[k]! };
  return md;
}

export function fromMetadata(md: WireMetadata | null | undefined): Headers {
  const h: Headers = {};
  for (const k in md) {
    const list = md[k];
    const name = k.toLowerCase();
    if (TRANSPORT_ONLY.has(name) || !list?.values?.length) continue;
    const had = h[name];
    h[name] = had ? had.concat(list.values) : list.values.slice();
  }
  return h;
}

/** The leading message of a request; its data stays empty when the body streams after it. */
export function toWireRequest(req: InvokeRequest, data: Buffer = Buffer.alloc(0)): WireRequest {
  const verb = req.verb.toUpperCase();
  return {
    ver: 'V1',
    metadata: toMetadata(req.headers),
    message: {
      method: req.method,
      data: { type_url: req.dataTypeUrl ?? '', value: data },
      content_type: req.contentType,
      // daprd sends verbs outside HTTPExtension.Verb as POST.
      http_extension: { verb: (HTTP_VERBS as readonly string[]).includes(verb) && verb !== 'NONE' ? verb : 'POST', querystring: req.query },
    },
  };
}

/** The InvokeRequest a callee sidecar hands to its app; `appId` is its own. */
export function fromWireRequest(w: WireRequest, appId: string, body: Readable): InvokeRequest {
  const m = w.message!;
  const typeUrl = m.data?.type_url ?? '';
  return {
    appId,
    method: m.method,
    verb: verbName(m.http_extension?.verb, 'POST'),
    query: m.http_extension?.querystring ?? '',
    headers: fromMetadata(w.metadata),
    contentType: m.content_type,
    body,
    ...(typeUrl ? { dataTypeUrl: typeUrl } : {}),
  };
}

export function toWireResponse(res: InvokeResponse, data: Buffer = Buffer.alloc(0)): WireResponse {
  return {
    status: res.grpc ? { code: res.grpc.code, message: res.grpc.message } : { code: res.status, message: '' },
    headers: toMetadata(res.headers),
    trailers: toMetadata(res.trailers),
    message: { data: { type_url: res.dataTypeUrl ?? '', value: data }, content_type: res.contentType },
  };
}

/**
 * The response a caller sidecar passes back. A gRPC app's failure (code 1-16) answers with the HTTP
 * status daprd maps it to and, when the callee sent no body, the JSON status daprd writes.
 */
export function fromWireResponse(w: WireResponse, body: Readable | Buffer): InvokeResponse {
  const code = w.status?.code ?? 0;
  const typeUrl = w.message?.data?.type_url ?? '';
  const trailers = fromMetadata(w.trailers);
  const status = code >= 100 ? code : httpStatusFromGrpc(code);
  const headers = fromMetadata(w.headers);
  const contentType = w.message?.content_type ?? '';
  const res: InvokeResponse = Buffer.isBuffer(body) ? new WholeResponse(status, headers, contentType, body) : { status, headers, contentType, body };
  if (Object.keys(trailers).length > 0) res.trailers = trailers;
  if (typeUrl) res.dataTypeUrl = typeUrl;
  if (code >= 100) return res;
  const message = w.status?.message ?? '';
  res.grpc = { code, message };
  if (code !== Grpc.OK) {
    res.contentType ||= 'application/json';
    const fallback = () => Buffer.from(JSON.stringify(message ? { code, message } : { code }));
    if (res.whole !== undefined) res.whole = res.whole.length > 0 ? res.whole : fallback();
    else res.body = orWhenEmpty(res.body, fallback);
  }
  return res;
}

/**
 * A body this transport creates and hands on: its errors reach whoever reads it, and never crash
 * the process while nobody does yet (an 'error' with no listener is an uncaught exception).
 */
export function handedOn<T extends Readable>(body: T): T {
  body.on('error', () => {});
  return body;
}

/** The body as it is, or `fallback()` when it turns out empty (read whole: a failed call's body is small). */
function orWhenEmpty(body: Readable, fallback: () => Buffer): Readable {
  return handedOn(Readable.from(
    (async function* () {
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(Buffer.from(c as Buffer));
      yield chunks.length > 0 ? Buffer.concat(chunks) : fallback();
    })(),
  ));
}

/** Splits a body chunk into StreamPayload-sized pieces (an array: most chunks are one piece). */
export function pieces(chunk: Buffer): Buffer[] {
  if (chunk.length <= CHUNK_BYTES) return chunk.length > 0 ? [chunk] : [];
  const out: Buffer[] = [];
  for (let i = 0; i < chunk.length; i += CHUNK_BYTES) out.push(chunk.subarray(i, i + CHUNK_BYTES));
  return out;
}

/** Go's codes.Code names, for daprd's "rpc error: code = X desc = Y" error text. */
const GO_CODE_NAMES = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied',
  'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss',
  'Unauthenticated',
];

/**
 * A failed sidecar-to-sidecar call, with its gRPC `code` (the built-in service retries look at it:
 * UNAVAILABLE and UNAUTHENTICATED are retried) and daprd's text for it.
 */
export class TransportError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`rpc error: code = ${GO_CODE_NAMES[code] ?? `Code(${code})`} desc = ${details}`);
    this.name = 'TransportError';
  }
}
