// Plain HTTP/1.1 on a raw socket: the http listener's fast path. The connection parses requests
// itself (RequestParser), one at a time (a pipelined request waits, unparsed, until the one before
// it is answered), and writes answers straight to the socket: a small answer read whole from the
// upstream goes out in one write. node:http's server (an IncomingMessage, a ServerResponse, their
// streams and events per request) cost more than everything else the proxy does; node:http still
// takes the connection for what this path leaves to it (CONNECT, absolute-form targets, Upgrade,
// Expect, HTTP/1.0): the bytes read so far go with it.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { writeBody } from './chunked';
import { BaseDownstream, type Downstream, grpcStatusOf } from './downstream';
import { endToEnd, isGrpc, plainAddress } from './headers';
import { type RequestHead, RequestParseError, RequestParser, type RequestSink } from './http1-request';
import type { UpstreamResponse } from './upstream';

/** Unparsed pipelined bytes (or unread body bytes) past this stop reading until they are used. */
const HOLD_LIMIT = 64 * 1024;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\0\r\n]/;
/** Answers up to this many body bytes are copied next to their head: one write, one send. */
const COPY_LIMIT = 4096;
const ignore = () => undefined;

/** Status lines made so far, by status. */
const STATUS_LINES: string[] = [];

/** `HTTP/1.1 200 OK\r\n`, made once per status. */
function statusLine(status: number): string {
  const cached = STATUS_LINES[status];
  if (cached !== undefined) return cached;
  const line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  if (Number.isInteger(status) && status >= 100 && status <= 999) STATUS_LINES[status] = line;
  return line;
}

export interface H1ConnectionHost {
  /** A parsed request, for the listener's current flow. */
  handle(down: RawH1Downstream): void;
  /** node:http takes the connection over: `rest` (the request that wanted it, and what followed) is unread. */
  fallback(socket: Socket, rest: Buffer): void;
  /** The connection is done (closed or handed over). */
  release(conn: H1Connection): void;
}

/** What this path leaves to node:http. */
function unusual(h: RequestHead): boolean {
  return h.minor === 0 || h.method === 'CONNECT' || h.target.charCodeAt(0) !== 47 /* / */ || h.headers.upgrade !== undefined || h.headers.expect !== undefined;
}

/** The request body as the flow and the forwarders read it; reading more resumes the socket. */
class RequestBodyStream extends Readable {
  constructor(private readonly conn: H1Connection) {
    // No auto-destroy and no 'close' event: fewer ticks per request.
    super({ autoDestroy: false, emitClose: false });
  }

  override _read(): void {
    this.conn.bodyWanted();
  }
}

export class H1Connection implements RequestSink {
  readonly remoteAddress: string;
  private readonly parser: RequestParser;
  private current: RawH1Downstream | undefined;
  private parsing = false;
  private dead = false;
  /** The listener is closing: no request after the current one. */
  private closing = false;
  /** The body's reader is behind. */
  private bodyFull = false;

  constructor(
    readonly socket: Socket,
    private readonly host: H1ConnectionHost,
    idleTimeoutMs: number,
  ) {
    this.remoteAddress = plainAddress(socket.remoteAddress);
    this.parser = new RequestParser(this);
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    // Re-armed by every read and write; only a connection with no request in progress is closed.
    socket.setTimeout(idleTimeoutMs, this.onTimeout);
  }

  /** Parses the connection's first bytes (and what follows as it comes). */
  start(first: Buffer): void {
    this.onData(first);
  }

  /** Closes the connection now when it is between requests, else after the current answer. */
  closeIdle(): void {
    this.closing = true;
    if (this.current === undefined) this.socket.destroy();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.parse(() => this.parser.execute(chunk));
    this.advance();
  };

  private readonly onClose = (): void => {
    this.dead = true;
    const c = this.current;
    this.current = undefined;
    c?.gone();
    this.host.release(this);
  };

  private readonly onTimeout = (): void => {
    if (this.current === undefined) this.socket.destroy();
  };

  private parse(step: () => void): void {
    this.parsing = true;
    try {
      step();
    } catch (e) {
      this.refuse(e as Error);
    } finally {
      this.parsing = false;
    }
  }

  /** A malformed request: 400 (431 for an oversized head), as node:http answers, and the connection closes. */
  private refuse(e: Error): void {
    const c = this.current;
    this.dead = true;
    if (c !== undefined && c.started) return void this.socket.destroy();
    this.current = undefined;
    c?.gone();
    const status = e instanceof RequestParseError ? e.status : 400;
    this.socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  }

  // ---- RequestSink ----

  head(h: RequestHead): void {
    if (unusual(h)) {
      // Only ever between requests: the parser reads a head once the one before is answered.
      const rest = this.parser.takeOver();
      this.dead = true;
      this.socket.off('data', this.onData);
      this.socket.off('close', this.onClose);
      this.socket.setTimeout(0);
      this.host.release(this);
      return this.host.fallback(this.socket, rest);
    }
    const down = new RawH1Downstream(this, h);
    this.current = down;
    this.host.handle(down);
  }

  data(chunk: Buffer): void {
    if (this.current?.pushBody(chunk) === false) this.bodyFull = true;
  }

  end(): void {
    this.current?.endBody();
  }

  // ---- from the downstream ----

  bodyWanted(): void {
    this.bodyFull = false;
    this.flow();
  }

  /** The answer is written: next request, or close when the client or the listener asked for it. */
  answered(down: RawH1Downstream): void {
    if (down !== this.current) return;
    this.bodyFull = false;
    if (!down.keepAlive || this.closing) {
      this.dead = true;
      this.current = undefined;
      return void this.socket.end();
    }
    if (!this.parsing) this.advance();
  }

  /** Parses the next request once the current one is answered and its body read. */
  private advance(): void {
    for (;;) {
      const c = this.current;
      if (this.dead || c === undefined || !c.finished || !c.requestEnded || !this.parser.stopped) break;
      this.current = undefined;
      this.parse(() => this.parser.resume());
    }
    this.flow();
  }

  /** Reads while the body's reader keeps up and no pile of pipelined requests waits. */
  private flow(): void {
    if (this.dead) return;
    const hold = this.bodyFull || (this.parser.stopped && this.parser.buffered > HOLD_LIMIT);
    if (hold) {
      if (!this.socket.isPaused()) this.socket.pause();
    } else if (this.socket.isPaused()) this.socket.resume();
  }
}

export class RawH1Downstream extends BaseDownstream implements Downstream {
  readonly h2 = false;
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly headers: RequestHead['headers'];
  readonly remoteAddress: string;
  readonly bodyless: boolean;
  readonly length: number | undefined;
  readonly grpc: boolean;
  readonly keepAlive: boolean;
  /** The answer is written whole. */
  finished = false;
  /** The request's body has been read to its end. */
  requestEnded = false;
  private headSent = false;
  private cutOff = false;
  private stream: RequestBodyStream | undefined;
  /** Body bytes read before anyone asked for the body. */
  private early: Buffer[] | undefined;
  private earlyBytes = 0;
  private closeFn: ((complete: boolean) => void) | undefined;

  constructor(
    private readonly conn: H1Connection,
    h: RequestHead,
  ) {
    super();
    const headers = h.headers;
    this.method = h.method;
    this.path = h.target;
    this.authority = headers.host ?? '';
    this.headers = headers;
    this.remoteAddress = conn.remoteAddress;
    this.bodyless = h.length === 0;
    this.length = h.length >= 0 && headers['content-length'] !== undefined ? h.length : undefined;
    this.grpc = isGrpc(headers['content-type']);
    this.keepAlive = h.keepAlive;
  }

  get started(): boolean {
    return this.headSent;
  }

  get body(): Readable {
    if (this.stream) return this.stream;
    const s = new RequestBodyStream(this.conn);
    // A body nobody reads any more (the client left) may still fail: not a crash.
    s.on('error', ignore);
    for (const c of this.early ?? []) s.push(c);
    this.early = undefined;
    if (this.requestEnded) s.push(null);
    return (this.stream = s);
  }

  get closed(): boolean {
    return this.finished || this.cutOff;
  }

  onClose(fn: (complete: boolean) => void): void {
    const prev = this.closeFn;
    this.closeFn = prev === undefined ? fn : (complete) => (prev(complete), fn(complete));
  }

  /** A piece of the request body; false when its reader is behind (the connection stops reading). */
  pushBody(chunk: Buffer): boolean {
    if (this.cutOff) return true;
    if (this.stream) return this.stream.push(chunk) || this.finished;
    // Nobody reads the body of an answered request: it is dropped.
    if (this.finished) return true;
    (this.early ??= []).push(chunk);
    this.earlyBytes += chunk.length;
    return this.earlyBytes <= HOLD_LIMIT;
  }

  endBody(): void {
    this.requestEnded = true;
    this.stream?.push(null);
  }

  /** The connection closed under the exchange. */
  gone(): void {
    if (this.finished) return;
    this.cutOff = true;
    if (this.stream && !this.requestEnded) this.stream.destroy(new Error('aborted'));
    this.early = undefined;
    this.fireClose(false);
  }

  protected cut(): void {
    this.cutOff = true;
    this.conn.socket.destroy();
  }

  protected send(status: number, headers: Record<string, string | number>, body?: Buffer): void {
    this.writeWhole(status, headers, body ?? EMPTY, false);
  }

  respond(up: UpstreamResponse): void {
    if (this.closed) return up.abort();
    this.status = up.status;
    if (up.grpc) this.grpcStatus = grpcStatusOf(up.headers);
    if (up.whole !== undefined) {
      this.responseBytes = up.whole.length;
      return this.writeWhole(up.status, up.headers, up.whole, true);
    }
    if (up.endAfterHeaders || this.noBody(up.status)) {
      this.writeWhole(up.status, up.headers, EMPTY, true);
      if (!up.endAfterHeaders) up.discard();
      return;
    }
    this.streamAnswer(up);
  }

  private noBody(status: number): boolean {
    return this.method === 'HEAD' || status === 204 || status === 304 || status < 200;
  }

  /** `checked`: the upstream's headers, which its parser checked already; a local reply's are checked here. */
  private headText(status: number, headers: Record<string, string | string[] | number | undefined>, framing: string, checked: boolean): string {
    let s = statusLine(status);
    for (const k in headers) {
      const v = headers[k];
      if (v === undefined || (!checked && !TOKEN.test(k))) continue;
      if (typeof v === 'number') s += `${k}: ${v}\r\n`;
      else if (typeof v === 'string') {
        if (checked || !BAD_VALUE.test(v)) s += `${k}: ${v}\r\n`;
      } else for (const x of v) if (checked || !BAD_VALUE.test(x)) s += `${k}: ${x}\r\n`;
    }
    return `${s}${framing}${this.keepAlive ? '' : 'connection: close\r\n'}\r\n`;
  }

  /** An answer whose body is all here. `upstream`: an upstream's answer (its Content-Length stands, a HEAD answer's included; its parser checked its headers). */
  private writeWhole(status: number, headers: Record<string, string | string[] | number | undefined>, body: Buffer, upstream: boolean): void {
    const noBody = this.noBody(status);
    const framing = noBody || (upstream && headers['content-length'] !== undefined) ? '' : `content-length: ${body.length}\r\n`;
    if (!upstream && !noBody) delete headers['content-length'];
    const head = this.headText(status, headers, framing, upstream);
    const socket = this.conn.socket;
    this.headSent = true;
    if (noBody || body.length === 0) socket.write(head, 'latin1');
    else if (body.length <= COPY_LIMIT) {
      const out = Buffer.allocUnsafe(head.length + body.length);
      out.write(head, 0, 'latin1');
      out.set(body, head.length);
      socket.write(out);
    } else {
      socket.cork();
      socket.write(head, 'latin1');
      socket.write(body);
      socket.uncork();
    }
    this.done();
  }

  /** An answer whose body streams: passed through under its Content-Length, else chunked (with trailers). */
  private streamAnswer(up: UpstreamResponse): void {
    const socket = this.conn.socket;
    const chunked = up.headers['content-length'] === undefined;
    socket.write(this.headText(up.status, up.headers, chunked ? 'transfer-encoding: chunked\r\n' : '', true), 'latin1');
    this.headSent = true;
    const src = up.body;
    src.on('error', () => this.cut());
    writeBody(src, socket, chunked, (c) => {
      if (this.cutOff) return false;
      this.responseBytes += c.length;
      return true;
    });
    src.once('end', () => {
      if (this.cutOff) return;
      if (chunked) {
        const t = up.trailers();
        if (t) this.grpcStatus = grpcStatusOf(t) ?? this.grpcStatus;
        socket.write(`0\r\n${t ? this.trailerLines(endToEnd(t)) : ''}\r\n`, 'latin1');
      }
      this.done();
    });
  }

  private trailerLines(t: Record<string, string | string[]>): string {
    let s = '';
    for (const k in t) {
      const v = t[k]!;
      if (!TOKEN.test(k)) continue;
      for (const x of typeof v === 'string' ? [v] : v) if (!BAD_VALUE.test(x)) s += `${k}: ${x}\r\n`;
    }
    return s;
  }

  private done(): void {
    this.finished = true;
    this.early = undefined;
    this.fireClose(true);
    this.conn.answered(this);
  }

  private fireClose(complete: boolean): void {
    const fn = this.closeFn;
    this.closeFn = undefined;
    fn?.(complete);
  }
}

const EMPTY = Buffer.alloc(0);
