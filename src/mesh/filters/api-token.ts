// API token authentication (daprd's DAPR_API_TOKEN): every call to the Dapr HTTP, Dapr gRPC and
// Layotto gRPC APIs must carry the token in `dapr-api-token`, except GET /v1.0/healthz and
// /v1.0/healthz/outbound on HTTP. Answers as daprd does: HTTP 401 "invalid api token" as plain text;
// gRPC UNAUTHENTICATED "Unauthorized" with an ErrorInfo naming why. The comparison is constant-time
// (equal-length digests), and neither the expected nor the offered token is ever logged.
import { createHash, timingSafeEqual } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { statusWithErrorInfo } from '../../errors/to-grpc';
import type { Exchange, Filter, LocalReply } from '../filter';

export const API_TOKEN_HEADER = 'dapr-api-token';

const digest = (v: string) => createHash('sha256').update(v, 'utf8').digest();

/** Paths open without a token (GET only), leading and trailing slashes trimmed as daprd does. */
const OPEN = new Set(['v1.0/healthz', 'v1.0/healthz/outbound']);

/** Why a call is refused on gRPC, in daprd's words. */
export type TokenFailure = 'missing api token in request metadata' | 'authentication error: api token mismatch';

/** The one check: undefined when the offered value (the first, as daprd reads it) is the token. */
export function tokenChecker(token: string): (offered: string | readonly string[] | undefined) => TokenFailure | undefined {
  const expected = digest(token);
  return (offered) => {
    const value = typeof offered === 'string' ? offered : offered?.[0];
    if (value === undefined) return 'missing api token in request metadata';
    return timingSafeEqual(digest(value), expected) ? undefined : 'authentication error: api token mismatch';
  };
}

/** True for the HTTP calls daprd lets through without a token. */
export const isOpenHttp = (verb: string, path: string): boolean => verb === 'GET' && OPEN.has(path.replace(/^\/+|\/+$/g, ''));

export type GrpcRefusal = { code: number; details: string; trailers: Record<string, Buffer> };

/** daprd's gRPC refusal: UNAUTHENTICATED "Unauthorized", ErrorInfo{http.code 401, http.error_message}. */
function unauthenticated(why: TokenFailure): GrpcRefusal {
  const e = statusWithErrorInfo(status.UNAUTHENTICATED, 'Unauthorized', { reason: 'Unauthorized', metadata: { 'http.code': '401', 'http.error_message': why } });
  return { code: e.code, details: e.details, trailers: { 'grpc-status-details-bin': e.metadata.get('grpc-status-details-bin')[0] as Buffer } };
}

/** Go's http.Error(w, "invalid api token", 401). */
const HTTP_REFUSAL: LocalReply['http'] = {
  status: 401,
  body: 'invalid api token\n',
  contentType: 'text/plain; charset=utf-8',
  headers: { 'x-content-type-options': 'nosniff' },
};

type Headers = Readonly<Record<string, string | readonly string[] | undefined>>;

/** The token check on a gRPC call's metadata: the refusal to answer with, or undefined. */
function grpcCheck(check: ReturnType<typeof tokenChecker>): (headers: Headers) => GrpcRefusal | undefined {
  const refusals = new Map<TokenFailure, GrpcRefusal>();
  return (headers) => {
    const why = check(headers[API_TOKEN_HEADER]);
    return why && (refusals.get(why) ?? refusals.set(why, unauthenticated(why)).get(why));
  };
}

/** The check for gRPC calls that bypass the filter chain (proxied app calls on the Dapr gRPC port). */
export const grpcTokenGuard = (token: string): ((headers: Headers) => GrpcRefusal | undefined) => grpcCheck(tokenChecker(token));

export function apiTokenFilter(token: string): Filter {
  const check = tokenChecker(token);
  const grpc = grpcCheck(check);
  return {
    name: 'api-token',
    apis: ['dapr-http', 'dapr-grpc', 'layotto-grpc'],
    onRequest(ex: Exchange): LocalReply | undefined {
      if (ex.protocol === 'grpc') {
        const refused = grpc(ex.headers);
        return refused && { http: HTTP_REFUSAL, grpc: refused };
      }
      if (isOpenHttp(ex.verb, ex.path)) return undefined;
      if (check(ex.headers[API_TOKEN_HEADER])) return { http: HTTP_REFUSAL, grpc: { code: status.UNAUTHENTICATED, details: 'Unauthorized' } };
      delete ex.headers[API_TOKEN_HEADER]; // accepted: the token goes no further (daprd deletes it too)
      return undefined;
    },
  };
}
