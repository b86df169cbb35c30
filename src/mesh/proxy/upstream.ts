// What the listener hands a forwarder for one request, and what comes back: the forwarders
// (HTTP/1.1, h2c, service invocation) speak one shape so the listener does not care which one a
// cluster uses. A forwarder's attempt runs inside cluster.call(): it gets the endpoint and a signal,
// and resolves as soon as the response headers are in; the body streams afterwards.
import type { Readable } from 'node:stream';
import type { AttemptResult, Endpoint } from './cluster/types';
import { UpstreamError } from './cluster/types';
import { isGrpc } from './headers';

/**
 * The request body: none, a small buffered one a retry can send again, or the downstream stream,
 * which can go out once. A forwarder pipes the stream only once its connection is up, so a connect
 * failure leaves it unread and another endpoint may still get it.
 */
export class RequestBody {
  private used = false;
  /** Bytes sent (counted only when asked: the filter chain reports them). */
  bytes: number;

  constructor(
    readonly stream: Readable | undefined,
    readonly buffered?: Buffer,
    private readonly count = false,
  ) {
    this.bytes = buffered?.length ?? 0;
  }

  get replayable(): boolean {
    return this.stream === undefined || this.buffered !== undefined;
  }

  /** The stream to pipe for this attempt; throws once it went out already (no retry can resend it). */
  take(): Readable {
    if (this.used) throw new UpstreamError('reset', 'the request body was already sent to another endpoint');
    this.used = true;
    if (this.count) this.stream!.on('data', (c: Buffer) => (this.bytes += c.length));
    return this.stream!;
  }
}

export const NO_BODY = new RequestBody(undefined);

export interface UpstreamRequest {
  method: string;
  /** Origin-form: path and query, rewritten. */
  path: string;
  /** Host / :authority for the upstream. */
  authority: string;
  /** End-to-end headers plus the forwarding ones and the route's requestHeaders. */
  headers: Record<string, string | string[]>;
  body: RequestBody;
  /** Bytes in the body when known. */
  length?: number;
  grpc: boolean;
  /** Every header came from a parser that refuses what cannot go on the wire (no filter or route added any): not checked again. */
  checked?: boolean;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Readable;
  /** The whole body, when it was all in with the headers (and no trailers follow): written at once, `body` left unread. */
  whole?: Buffer;
  /** The headers ended the stream (an h2 trailers-only answer, a HEAD answer): no body follows. */
  endAfterHeaders: boolean;
  grpc: boolean;
  /** The upstream's trailers, once the body ended (undefined: none). */
  trailers(): Record<string, string | string[] | undefined> | undefined;
  /** Stops the upstream side (the downstream went away). */
  abort(): void;
  /** Drops an answer the cluster will not return (a retry follows); may keep the connection. */
  discard(): void;
}

/** How one cluster's requests reach an endpoint. */
export interface Forwarder {
  attempt(req: UpstreamRequest, ep: Endpoint, signal: AbortSignal): Promise<AttemptResult<UpstreamResponse>>;
  /** attempt() with callbacks (one of them, once) instead of a promise. */
  attemptDirect?(req: UpstreamRequest, ep: Endpoint, signal: AbortSignal, ok: (r: AttemptResult<UpstreamResponse>) => void, fail: (e: unknown) => void): void;
  close(): void;
  /** Endpoints left the cluster (EDS): connections to other addresses finish what they carry and close. */
  retain?(addresses: ReadonlySet<string>): void;
}

/** The AttemptResult for a response: gRPC answers carrying grpc-status in their headers report that. */
export function attemptResult(res: UpstreamResponse): AttemptResult<UpstreamResponse> {
  const gs = res.grpc ? res.headers['grpc-status'] : undefined;
  const grpcStatus = typeof gs === 'string' ? Number(gs) : NaN;
  return Number.isInteger(grpcStatus)
    ? { status: grpcStatus, protocol: 'grpc', value: res, discard: () => res.discard() }
    : { status: res.status, protocol: 'http', value: res, discard: () => res.discard() };
}

export const responseIsGrpc = (headers: Record<string, string | string[] | undefined>): boolean => isGrpc(headers['content-type']);
