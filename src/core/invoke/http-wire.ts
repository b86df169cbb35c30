// An invocation as an HTTP request over undici and the answer back, shared by the HTTP app channel
// and external targets (HTTPEndpoint resources, URLs). Headers go as daprd's
// InternalMetadataToHTTPHeader writes them: gRPC-only keys renamed under dapr-, binary ones dropped.
import type { Dispatcher } from 'undici';
import { HOP_BY_HOP } from './headers';
import type { Headers, InvokeRequest, InvokeResponse } from './types';

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\r\n\0]/;

/** daprd's reservedGRPCMetadataToDaprPrefixHeader: grpc-* and pseudo headers become dapr-*. */
const httpName = (k: string): string => (k.startsWith(':') ? `dapr-${k.slice(1)}` : k.startsWith('grpc-') ? `dapr-${k}` : k);

/** The request headers for undici: the invocation's, then `extra` (set, not appended). */
export function requestHeaders(req: InvokeRequest, extra: Record<string, string> = {}): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const h = req.headers;
  for (const k in h) {
    const name = httpName(k.toLowerCase());
    if (name.endsWith('-bin') || HOP_BY_HOP.has(name) || name === 'content-type' || !HEADER_NAME.test(name)) continue;
    const values = h[k]!;
    // The common case, one clean value, without a filtered copy.
    if (values.length === 1 && !BAD_VALUE.test(values[0]!)) {
      out[name] = values[0]!;
      continue;
    }
    const ok = values.filter((v) => !BAD_VALUE.test(v));
    if (ok.length > 0) out[name] = ok.length === 1 ? ok[0]! : ok;
  }
  if (req.contentType) out['content-type'] = req.contentType;
  if (req.length !== undefined) out['content-length'] = String(req.length);
  for (const k in extra) out[k.toLowerCase()] = extra[k]!;
  return out;
}

/** Characters a request target may not carry raw (space, controls, non-ASCII) are percent-encoded. */
const escapePath = (p: string): string => p.replace(/[^\x21-\x7e]+/gu, (s) => encodeURIComponent(s));

/** base + ('/' unless the method starts with one) + method + ?query, as daprd builds the URL. */
export function requestPath(base: string, method: string, query: string): string {
  const path = `${base}${method.startsWith('/') ? '' : '/'}${escapePath(method)}`;
  return query ? `${path}?${query}` : path;
}

/** undici's answer as an InvokeResponse (content-type travels as its own field). */
export function responseOf(res: Dispatcher.ResponseData): InvokeResponse {
  const headers: Headers = {};
  let contentType = '';
  const h = res.headers;
  for (const k in h) {
    const v = h[k];
    if (v === undefined) continue;
    const name = k.toLowerCase();
    const values = Array.isArray(v) ? v : [v];
    if (name === 'content-type') contentType = values[0] ?? '';
    else if (!HOP_BY_HOP.has(name) || name === 'content-length') headers[name] = values;
  }
  return { status: res.statusCode, headers, contentType, body: res.body };
}
