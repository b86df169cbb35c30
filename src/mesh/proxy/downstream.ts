// The client side of one proxied request, over HTTP/1.1 (node:http req/res) or h2c (an HTTP/2
// stream): what routing and the forwarders read from it, and the two ways it is answered: a local
// reply, or an upstream response streamed through with backpressure (and trailers, for gRPC).
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { constants as h2, type IncomingHttpHeaders as H2Headers, type ServerHttp2Stream } from 'node:http2';
import type { Readable, Writable } from 'node:stream';
import type { LocalReply } from '../filter';
import { endToEnd, isGrpc, plainAddress } from './headers';
import { grpcStatusHeaders } from './local-reply';
import type { UpstreamResponse } from './upstream';

export interface Downstream {
  readonly h2: boolean;
  readonly method: string;
  /** Origin-form path and query. */
  readonly path: string;
  /** Host header / :authority (an absolute-form target's authority). */
  readonly authority: string;
  readonly headers: IncomingHttpHeaders | H2Headers;
  readonly remoteAddress: string;
  readonly body: Readable;
  /** Certainly no request body (no Content-Length/Transfer-Encoding; h2 END_STREAM on the headers). */
  readonly bodyless: boolean;
  readonly length: number | undefined;
  readonly grpc: boolean;
  /** What was answered: the HTTP status, and for gRPC the grpc-status once known. */
  status: number;
  grpcStatus?: number;
  responseBytes: number;
  /** The client is gone or the answer is complete. */
  readonly closed: boolean;
  reply(r: LocalReply): void;
  respond(up: UpstreamResponse): void;
  /** Called once when the exchange ends, complete or not (`complete` false: cut off). */
  onClose(fn: (complete: boolean) => void): void;
}

export const contentLength = (v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
};

/** Copies a readable into a writable with backpressure, counting bytes; `end` runs after the last chunk. */
function pump(src: Readable, dst: Writable, count: (n: number) => void, end: () => void): void {
  const resume = () => src.resume();
  src.on('data', (chunk: Buffer) => {
    count(chunk.length);
    if (!dst.write(chunk)) {
      src.pause();
      dst.once('drain', resume);
    }
  });
  src.once('end', end);
}

export const grpcStatusOf = (h: Record<string, unknown> | undefined): number | undefined => {
  const v = h?.['grpc-status'];
  return typeof v === 'string' ? Number(v) : undefined;
};

/** What both protocols share: the outcome counters and how a local reply is worded. */
export abstract class BaseDownstream {
  abstract readonly grpc: boolean;
  status = 0;
  grpcStatus?: number;
  responseBytes = 0;

  abstract get closed(): boolean;
  /** The response has started: too late for another answer. */
  protected abstract get started(): boolean;
  /** Cuts the exchange off (a reset). */
  protected abstract cut(): void;
  /** Writes a whole answer: headers, and the body when there is one. */
  protected abstract send(status: number, headers: Record<string, string | number>, body?: Buffer): void;

  reply(r: LocalReply): void {
    if (this.closed) return;
    if (this.started) return this.cut();
    if (this.grpc) {
      this.status = 200;
      this.grpcStatus = r.grpc.code;
      return this.send(200, grpcStatusHeaders(r));
    }
    const body = Buffer.from(r.http.body);
    this.status = r.http.status;
    this.responseBytes = body.length;
    this.send(r.http.status, { 'content-type': r.http.contentType ?? 'text/plain', 'content-length': body.length, ...r.http.headers }, body);
  }
}

export class H1Downstream extends BaseDownstream implements Downstream {
  readonly h2 = false;
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress: string;
  readonly bodyless: boolean;
  readonly length: number | undefined;
  readonly grpc: boolean;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    /** An absolute-form target, split (forward proxy requests). */
    target?: { authority: string; path: string },
  ) {
    super();
    const h = req.headers;
    this.method = req.method!;
    this.path = target?.path ?? req.url!;
    this.authority = target?.authority ?? h.host ?? '';
    this.headers = h;
    this.remoteAddress = plainAddress(req.socket.remoteAddress);
    this.length = contentLength(h['content-length']);
    this.bodyless = this.length === 0 || (this.length === undefined && h['transfer-encoding'] === undefined);
    this.grpc = isGrpc(h['content-type']);
  }

  get body(): Readable {
    return this.req;
  }

  get closed(): boolean {
    return this.res.writableEnded || this.res.destroyed;
  }

  onClose(fn: (complete: boolean) => void): void {
    this.res.once('close', () => fn(this.res.writableFinished));
  }

  protected get started(): boolean {
    return this.res.headersSent;
  }

  protected cut(): void {
    this.res.destroy();
  }

  protected send(status: number, headers: Record<string, string | number>, body?: Buffer): void {
    this.res.writeHead(status, headers).end(body);
  }

  respond(up: UpstreamResponse): void {
    const res = this.res;
    if (this.closed) return up.abort();
    this.status = up.status;
    if (up.grpc) this.grpcStatus = grpcStatusOf(up.headers);
    if (up.whole !== undefined) {
      // A small answer read whole: one write, no stream to pump.
      this.responseBytes = up.whole.length;
      return void res.writeHead(up.status, up.headers).end(up.whole);
    }
    res.writeHead(up.status, up.headers);
    if (up.endAfterHeaders) return void res.end();
    up.body.on('error', () => res.destroy());
    pump(
      up.body,
      res,
      (n) => (this.responseBytes += n),
      () => {
        const t = up.trailers();
        if (t) {
          this.grpcStatus = grpcStatusOf(t) ?? this.grpcStatus;
          res.addTrailers(endToEnd(t) as Record<string, string>);
        }
        res.end();
      },
    );
  }
}

export class H2Downstream extends BaseDownstream implements Downstream {
  readonly h2 = true;
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly remoteAddress: string;
  readonly bodyless: boolean;
  readonly length: number | undefined;
  readonly grpc: boolean;

  constructor(
    private readonly stream: ServerHttp2Stream,
    readonly headers: H2Headers,
    flags: number,
  ) {
    super();
    this.method = headers[':method']!;
    this.path = headers[':path'] ?? '/';
    this.authority = headers[':authority'] ?? headers.host ?? '';
    this.remoteAddress = plainAddress(stream.session?.socket?.remoteAddress);
    this.length = contentLength(headers['content-length']);
    this.bodyless = (flags & h2.NGHTTP2_FLAG_END_STREAM) !== 0 || this.length === 0;
    this.grpc = isGrpc(headers['content-type']);
  }

  get body(): Readable {
    return this.stream;
  }

  get closed(): boolean {
    return this.stream.destroyed || this.stream.closed;
  }

  onClose(fn: (complete: boolean) => void): void {
    this.stream.once('close', () => fn(this.stream.rstCode === h2.NGHTTP2_NO_ERROR));
  }

  protected get started(): boolean {
    return this.stream.headersSent;
  }

  protected cut(): void {
    this.stream.close(h2.NGHTTP2_INTERNAL_ERROR);
  }

  protected send(status: number, headers: Record<string, string | number>, body?: Buffer): void {
    this.stream.respond({ ':status': status, ...headers }, { endStream: body === undefined });
    if (body !== undefined) this.stream.end(body);
  }

  respond(up: UpstreamResponse): void {
    const s = this.stream;
    if (this.closed) return up.abort();
    this.status = up.status;
    const headers: Record<string, string | string[] | number> = up.headers;
    headers[':status'] = up.status;
    if (up.endAfterHeaders) {
      if (up.grpc) this.grpcStatus = grpcStatusOf(up.headers);
      s.respond(headers, { endStream: true });
      return;
    }
    // gRPC answers end with trailers (grpc-status); so may an HTTP/1.1 upstream's chunked answer.
    const trailers = up.grpc || up.headers.trailer !== undefined;
    s.respond(headers, { waitForTrailers: trailers });
    if (trailers) {
      s.once('wantTrailers', () => {
        const t = up.trailers();
        // A status in the headers stands; an upstream gRPC answer that ended without one is an internal error.
        const out = t ? endToEnd(t) : !up.grpc || up.headers['grpc-status'] !== undefined ? {} : { 'grpc-status': '13', 'grpc-message': 'upstream ended without trailers' };
        if (up.grpc) this.grpcStatus = grpcStatusOf(out);
        s.sendTrailers(out);
      });
    }
    up.body.on('error', () => s.close(h2.NGHTTP2_INTERNAL_ERROR));
    pump(up.body, s, (n) => (this.responseBytes += n), () => s.end());
  }
}
