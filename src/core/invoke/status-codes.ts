// HTTP status <-> gRPC code as daprd maps them for invocation (its invokev1 HTTPStatusFromCode and
// CodeFromHTTPStatus, after grpc-gateway): a gRPC app's status seen by an HTTP caller, and an HTTP
// app's status seen by a gRPC caller.
import { status as Grpc } from '@grpc/grpc-js';
import { STATUS_CODES } from 'node:http';

const HTTP_BY_GRPC: Partial<Record<Grpc, number>> = {
  [Grpc.OK]: 200,
  [Grpc.CANCELLED]: 408,
  [Grpc.UNKNOWN]: 500,
  [Grpc.INVALID_ARGUMENT]: 400,
  [Grpc.DEADLINE_EXCEEDED]: 504,
  [Grpc.NOT_FOUND]: 404,
  [Grpc.ALREADY_EXISTS]: 409,
  [Grpc.PERMISSION_DENIED]: 403,
  [Grpc.UNAUTHENTICATED]: 401,
  [Grpc.RESOURCE_EXHAUSTED]: 429,
  // Deliberately not 412 Precondition Failed (grpc-gateway's choice, which daprd keeps).
  [Grpc.FAILED_PRECONDITION]: 400,
  [Grpc.ABORTED]: 409,
  [Grpc.OUT_OF_RANGE]: 400,
  [Grpc.UNIMPLEMENTED]: 501,
  [Grpc.INTERNAL]: 500,
  [Grpc.UNAVAILABLE]: 503,
  [Grpc.DATA_LOSS]: 500,
};

const GRPC_BY_HTTP: Record<number, Grpc> = {
  408: Grpc.CANCELLED,
  500: Grpc.UNKNOWN,
  400: Grpc.INTERNAL,
  504: Grpc.DEADLINE_EXCEEDED,
  404: Grpc.NOT_FOUND,
  409: Grpc.ALREADY_EXISTS,
  403: Grpc.PERMISSION_DENIED,
  401: Grpc.UNAUTHENTICATED,
  429: Grpc.RESOURCE_EXHAUSTED,
  501: Grpc.UNIMPLEMENTED,
  503: Grpc.UNAVAILABLE,
};

export function httpStatusFromGrpc(code: number): number {
  return HTTP_BY_GRPC[code as Grpc] ?? 500;
}

export function grpcCodeFromHttp(status: number): Grpc {
  if (GRPC_BY_HTTP[status] !== undefined) return GRPC_BY_HTTP[status]!;
  return status >= 200 && status < 300 ? Grpc.OK : Grpc.UNKNOWN;
}

/** Go's http.StatusText where Node's STATUS_CODES words a status otherwise (Go has no text for 509). */
const GO_STATUS_TEXT: Record<number, string> = {
  413: 'Request Entity Too Large',
  414: 'Request URI Too Long',
  416: 'Requested Range Not Satisfiable',
  418: "I'm a teapot",
  509: '',
};

/** An HTTP status's text as daprd (Go's http.StatusText) words it; '' for an unknown status. */
export const httpStatusText = (status: number): string => GO_STATUS_TEXT[status] ?? STATUS_CODES[status] ?? '';

/** HTTPExtension.Verb in enum order (Dapr's common.v1 and Layotto's runtime.v1 share it). */
export const HTTP_VERBS = ['NONE', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;

/** An HTTPExtension verb (name or number) as an HTTP method; NONE, absent or unknown give `fallback`. */
export function verbName(v: unknown, fallback: string): string {
  const name = typeof v === 'number' ? HTTP_VERBS[v] : typeof v === 'string' ? v.toUpperCase() : undefined;
  return name && name !== 'NONE' && (HTTP_VERBS as readonly string[]).includes(name) ? name : fallback;
}
