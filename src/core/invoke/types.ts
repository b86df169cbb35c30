// Service invocation, protocol-free: one request/response shape that the three API faces, the app
// channel and the sidecar-to-sidecar transport all speak (daprd's invokev1.InvokeMethodRequest /
// Response). Bodies are streams so large payloads are never buffered whole.
import type { Readable } from 'node:stream';

/** Header name (lower-case) → values, as HTTP carries them; gRPC metadata maps onto it. */
export type Headers = Record<string, string[]>;

export interface InvokeRequest {
  /** Target app id ('' never reaches the core: the faces answer ERR_DIRECT_INVOKE first). */
  appId: string;
  /** The method path after `/method/`, without a leading slash (may contain further slashes). */
  method: string;
  /** HTTP verb for HTTP apps (gRPC InvokeService: http_extension.verb, default POST). */
  verb: string;
  /** Raw query string without '?', '' when none. */
  query: string;
  /** Headers for the app (the faces drop hop-by-hop ones; the core adds dapr-caller-app-id etc.). */
  headers: Headers;
  contentType: string;
  body: Readable;
  /** Bytes in body when known (a Content-Length), else undefined. */
  length?: number;
  /** google.protobuf.Any type_url of the data when a gRPC caller sent one (passed on to gRPC apps). */
  dataTypeUrl?: string;
  /**
   * Callee side, with mTLS on: who called, from the SPIFFE ID of the calling sidecar's verified
   * certificate (unlike dapr-caller-app-id, a header any caller can write). Unset without mTLS.
   */
  callerIdentity?: CallerIdentity;
}

/** A calling sidecar's SPIFFE ID, spiffe://<trustDomain>/ns/<namespace>/<appId>, in parts. */
export interface CallerIdentity {
  appId: string;
  namespace: string;
  trustDomain: string;
}

export interface InvokeResponse {
  /** HTTP status (gRPC apps: 200 for OK, else the HTTP status of their code; see `grpc`). */
  status: number;
  headers: Headers;
  contentType: string;
  body: Readable;
  /**
   * Set when a gRPC app answered: its status code and message (status then holds the HTTP status
   * daprd maps the code to, and a failed call's body is the JSON status daprd writes).
   */
  grpc?: { code: number; message: string };
  /** A gRPC app's trailing metadata (HTTP answers have none). */
  trailers?: Headers;
  /** google.protobuf.Any type_url of a gRPC app's data. */
  dataTypeUrl?: string;
  /**
   * The whole body, when the transport had all of it with the head (a small answer): `body` streams
   * the same bytes, made only when read (see whole-response.ts), so a face that writes `whole`
   * skips the stream machinery per call.
   */
  whole?: Buffer;
}

/** Anything that can answer an invocation: the local app channel, a remote sidecar, an HTTPEndpoint. */
export interface Invoker {
  invoke(req: InvokeRequest, signal?: AbortSignal): Promise<InvokeResponse>;
}

/** Where an app id lives, as name resolution answers it. */
export interface ResolvedAddress {
  host: string;
  /** The target sidecar's internal (sidecar-to-sidecar) port. */
  port: number;
}
