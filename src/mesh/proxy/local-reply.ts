// The proxy's own answers, worded as Envoy words them, and how each upstream failure becomes one.
// HTTP requests get a text/plain status; gRPC requests a trailers-only answer whose grpc-status is
// the one the contract names (UNAVAILABLE for a missing or failing upstream, DEADLINE_EXCEEDED for
// a timeout, UNIMPLEMENTED for no route).
import type { LocalReply } from '../filter';
import { NoHealthyUpstreamError, UpstreamError, UpstreamOpenCircuitError, UpstreamTimeoutError } from './cluster/types';

export const GRPC = { DEADLINE_EXCEEDED: 4, PERMISSION_DENIED: 7, INTERNAL: 13, UNIMPLEMENTED: 12, UNAVAILABLE: 14 } as const;

/** A local reply with the reason the exchange records (ex.errorCode). */
export interface ProxyReply extends LocalReply {
  errorCode: string;
}

function reply(errorCode: string, status: number, body: string, grpc: number, details = body): ProxyReply {
  return { errorCode, http: { status, body, contentType: 'text/plain' }, grpc: { code: grpc, details } };
}

const RESET_BEFORE_HEADERS = 'upstream connect error or disconnect/reset before headers. reset reason: ';

export const NO_ROUTE = reply('NO_ROUTE', 404, 'no route', GRPC.UNIMPLEMENTED);

/** CONNECT or absolute-form to a host no route names: a forward proxy must never be an open one. */
export const FORBIDDEN_TARGET = (target: string): ProxyReply => reply('NO_ROUTE', 403, `no route to ${target}`, GRPC.PERMISSION_DENIED);

/** The local reply for whatever cluster.call() (or a forwarder) rejected with. */
export function replyFor(e: unknown): ProxyReply {
  if (e instanceof NoHealthyUpstreamError) return reply('NO_HEALTHY_UPSTREAM', 503, 'no healthy upstream', GRPC.UNAVAILABLE);
  if (e instanceof UpstreamTimeoutError) return reply('UPSTREAM_TIMEOUT', 504, 'upstream request timeout', GRPC.DEADLINE_EXCEEDED);
  if (e instanceof UpstreamOpenCircuitError) return reply('CIRCUIT_OPEN', 503, `${RESET_BEFORE_HEADERS}overflow`, GRPC.UNAVAILABLE);
  if (e instanceof UpstreamError) {
    if (e.kind === 'timeout') return reply('UPSTREAM_TIMEOUT', 504, 'upstream request timeout', GRPC.DEADLINE_EXCEEDED);
    const why = e.kind === 'connect-failure' ? 'connection failure' : 'connection termination';
    return reply('UPSTREAM_RESET', 503, `${RESET_BEFORE_HEADERS}${why}, transport failure reason: ${e.message}`, GRPC.UNAVAILABLE);
  }
  return reply('UPSTREAM_RESET', 502, `${RESET_BEFORE_HEADERS}protocol error: ${(e as Error)?.message ?? String(e)}`, GRPC.UNAVAILABLE);
}

/** The headers of a trailers-only gRPC answer (RFC: grpc-message percent-encoded). */
export function grpcStatusHeaders(r: LocalReply): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/grpc', 'grpc-status': String(r.grpc.code) };
  if (r.grpc.details) h['grpc-message'] = encodeURIComponent(r.grpc.details);
  // Binary metadata (a -bin key) travels base64-encoded.
  for (const [k, v] of Object.entries(r.grpc.trailers ?? {})) h[k] = typeof v === 'string' ? v : v.toString('base64');
  return h;
}
