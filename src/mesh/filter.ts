// The filter contract shared by the runtime APIs and (later) the mesh proxy, after MOSN's stream
// filters: every request passes through an ordered chain; a filter may stop it with a local reply
// (a rate limit's 429) and observes it again when it completes (metrics, traces, access logs).

/** Which server a request came in on. */
export type Api = 'dapr-http' | 'dapr-grpc' | 'layotto-grpc' | 'internal' | 'proxy';

/** One request as the filters see it. Servers fill the request part, then the outcome. */
export interface Exchange {
  api: Api;
  protocol: 'http' | 'grpc';
  /** HTTP verb; 'POST' for gRPC. */
  verb: string;
  /**
   * Low-cardinality name of what was called: the HTTP route template (`/v1.0/state/:storeName/:key`,
   * '' when no route matched) or the gRPC full method (`/dapr.proto.runtime.v1.Dapr/GetState`).
   */
  route: string;
  /** The API operation's name when known (daprd's endpoint name: GetState, PublishEvent). */
  operation?: string;
  /** The concrete URL path (no query) or gRPC full method. */
  path: string;
  /** Request headers / gRPC metadata, keys lower-case. */
  headers: Record<string, string | string[] | undefined>;
  remoteAddress: string;
  /** gRPC: a client, server or bidi stream (unary = false). */
  streaming: boolean;
  /** process.hrtime.bigint() when the request arrived. */
  startNs: bigint;
  /** Set on completion: the HTTP status, or for gRPC the status code. */
  status?: number;
  /** gRPC: status details; HTTP: an error answer's message, when known. */
  message?: string;
  /** The ERR_* code of an error answer, when known. */
  errorCode?: string;
  requestBytes?: number;
  responseBytes?: number;
  /** Per-filter state between onRequest and onResponse (a span, a timer), keyed by filter name. */
  readonly attrs: Map<string, unknown>;
  /**
   * Set by a filter whose state must be the handler's async context (tracing's current span); the
   * server calls the handler (gRPC: every listener step) through it. A filter that sets it wraps any
   * earlier one.
   */
  run?: <T>(fn: () => T) => T;
  /**
   * Mesh proxy requests only: the listener, the matched route and cluster (once routed), the
   * upstream endpoint ("host:port") and its status (once answered). Proxy filters label by these.
   */
  proxy?: ProxyInfo;
}

export interface ProxyInfo {
  listener: string;
  /** The request's Host / :authority, port removed. */
  host: string;
  route?: string;
  cluster?: string;
  upstream?: string;
  upstreamStatus?: number;
  /** Attempts beyond the first. */
  retries?: number;
}

/** A local answer that ends the request before it reaches the handler. */
export interface LocalReply {
  http: { status: number; body: string; contentType?: string; headers?: Record<string, string> };
  /** `trailers`: extra status metadata (a `-bin` key takes a Buffer), e.g. grpc-status-details-bin. */
  grpc: { code: number; details: string; trailers?: Record<string, string | Buffer> };
}

/** undefined = continue to the next filter. */
export type Verdict = LocalReply | undefined;

export interface Filter {
  readonly name: string;
  /** Which APIs this filter applies to; all when absent. */
  readonly apis?: readonly Api[];
  onRequest?(ex: Exchange): Verdict | Promise<Verdict>;
  /** Called once when the exchange completes, stopped ones included. Must not throw. */
  onResponse?(ex: Exchange): void;
  /** Releases what the filter holds (a shared limit's Redis connection) at shutdown. */
  close?(): Promise<void>;
}
