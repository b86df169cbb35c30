// Headers across the proxy, as Envoy's HTTP connection manager treats them: hop-by-hop headers
// (and those a Connection header names) stay on their hop; HTTP/2 pseudo-headers are rebuilt per
// hop; x-forwarded-for gets the downstream address appended, x-forwarded-proto is set when absent,
// and a request without x-request-id gets one.
import { randomUUID } from 'node:crypto';
import { isLower } from './http1-lex';

export type HeaderMap = Record<string, string | string[] | undefined>;

/** Hop-by-hop header names (a switch on the length: cheaper per header than a Set lookup). */
function hopByHop(k: string): boolean {
  switch (k.length) {
    case 2:
      return k === 'te';
    case 4:
      return k === 'host';
    case 7:
      return k === 'upgrade';
    case 10:
      return k === 'connection' || k === 'keep-alive';
    case 14:
      return k === 'http2-settings';
    case 16:
      return k === 'proxy-connection';
    case 17:
      return k === 'transfer-encoding';
    case 19:
      return k === 'proxy-authorization';
    default:
      return false;
  }
}

/** Header names a Connection header lists (lower-case), when it lists any beyond keep-alive/close. */
function connectionNamed(h: HeaderMap): Set<string> | undefined {
  const c = h.connection;
  if (c === undefined) return undefined;
  // By far the most common values: nothing to split.
  if (typeof c === 'string' && (isLower(c, 'keep-alive') || isLower(c, 'close'))) return undefined;
  let out: Set<string> | undefined;
  for (const part of (Array.isArray(c) ? c.join(',') : c).split(',')) {
    const n = part.trim().toLowerCase();
    if (n && n !== 'keep-alive' && n !== 'close') (out ??= new Set()).add(n);
  }
  return out;
}

/** A copy without hop-by-hop and pseudo-headers (`te: trailers` kept: gRPC needs it). */
export function endToEnd(h: HeaderMap): Record<string, string | string[]> {
  const named = connectionNamed(h);
  const out: Record<string, string | string[]> = {};
  for (const k in h) {
    const v = h[k];
    if (v === undefined || k.charCodeAt(0) === 58 /* : */ || hopByHop(k) || named?.has(k)) continue;
    out[k] = v;
  }
  const te = h.te;
  if (te !== undefined && /\btrailers\b/i.test(String(te))) out.te = 'trailers';
  return out;
}

/** Strips a remote address's IPv4-mapped prefix ("::ffff:127.0.0.1" → "127.0.0.1"). */
export const plainAddress = (a: string | undefined): string => (a === undefined ? '' : a.startsWith('::ffff:') ? a.slice(7) : a);

/** The request headers for the upstream: end-to-end ones plus Envoy's forwarding headers. */
export function upstreamRequestHeaders(h: HeaderMap, remoteAddress: string): Record<string, string | string[]> {
  const out = endToEnd(h);
  const xff = out['x-forwarded-for'];
  out['x-forwarded-for'] = xff === undefined ? remoteAddress : `${Array.isArray(xff) ? xff.join(', ') : xff}, ${remoteAddress}`;
  if (out['x-forwarded-proto'] === undefined) out['x-forwarded-proto'] = 'http';
  if (out['x-request-id'] === undefined) out['x-request-id'] = randomUUID();
  return out;
}

/** The response headers for the downstream (hop-by-hop and pseudo-headers removed). */
export const downstreamResponseHeaders = endToEnd;

/** content-type application/grpc, application/grpc+proto, ... (not grpc-web). */
export function isGrpc(contentType: string | string[] | undefined): boolean {
  return typeof contentType === 'string' && contentType.startsWith('application/grpc') && (contentType.length === 16 || contentType[16] === '+' || contentType[16] === ';');
}
