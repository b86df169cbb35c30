// How one attempt ended, in the terms outlier detection, breakers and retries reason about (Envoy's
// split: a 5xx answer, a gateway error 502/503/504, or no answer at all). gRPC answers are judged by
// the HTTP status Envoy maps their grpc-status to (UNAVAILABLE → 503, DEADLINE_EXCEEDED → 504, ...).
import { type FailureKind, UpstreamError, UpstreamTimeoutError } from './types';

export type Outcome = 'ok' | '5xx' | 'gateway' | FailureKind;

/** Envoy's Grpc::Utility::grpcToHttpStatus, indexed by grpc-status 0-16. */
const GRPC_TO_HTTP = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];

/** The HTTP status an answer counts as (a gRPC status 0-16 mapped; anything else taken as HTTP). */
export const httpStatusOf = (status: number, protocol: 'http' | 'grpc'): number =>
  protocol === 'grpc' && status >= 0 && status <= 16 ? GRPC_TO_HTTP[status]! : status;

export function classifyStatus(status: number, protocol: 'http' | 'grpc'): Outcome {
  const s = httpStatusOf(status, protocol);
  if (s < 500) return 'ok';
  return s === 502 || s === 503 || s === 504 ? 'gateway' : '5xx';
}

/** A failure an endpoint is blamed for (outlier detection, breakers, the failures counter). */
export const isFailure = (o: Outcome): boolean => o !== 'ok';

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ERR_SOCKET_CONNECTION_TIMEOUT']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Whatever an attempt rejected with, as an UpstreamError (the forwarders usually throw one already). */
export function toUpstreamError(e: unknown): UpstreamError {
  if (e instanceof UpstreamError) return e;
  if (e instanceof UpstreamTimeoutError) return new UpstreamError('timeout', e.message, e);
  const err = e as { code?: unknown; message?: unknown; cause?: { code?: unknown } } | null;
  const code = typeof err?.code === 'string' ? err.code : typeof err?.cause?.code === 'string' ? err.cause.code : '';
  const kind: FailureKind = CONNECT_CODES.has(code) ? 'connect-failure' : TIMEOUT_CODES.has(code) ? 'timeout' : 'reset';
  const message = typeof err?.message === 'string' ? err.message : String(e);
  return new UpstreamError(kind, code && !message.includes(code) ? `${code}: ${message}` : message, e);
}
