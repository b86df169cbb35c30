// Keep-alive HTTP/1.1 connections to one endpoint, on plain sockets: the request head is written
// as one string, the answer read by ResponseParser and handed on as a Readable, and the connection
// goes back to the pool as soon as the answer ends. This is the proxy's hot path; node:http's
// client (ClientRequest + Agent + IncomingMessage) spent several times more per request.
// At most maxConnections per endpoint (requests past that wait, most recently idled connection
// first, so spare ones age out after keepAliveMs). A pooled connection that the server closed
// while idle fails before any byte of the answer: the request is sent once more on a new
// connection when its body can be sent again, as Envoy and undici do.
import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { UpstreamError } from './cluster/types';
import { writeBody } from './chunked';
import { endToEnd } from './headers';
import { type ResponseHeaders, ResponseParseError, ResponseParser, type ResponseSink } from './http1-response';
import type { UpstreamRequest, UpstreamResponse } from './upstream';
import { responseIsGrpc } from './upstream';

export interface Http1PoolOptions {
  maxConnections: number;
  /** An idle connection is closed after this. */
  keepAliveMs: number;
  connectTimeoutMs: number;
}

/** An answer whose rest is at most this is drained when dropped, so its connection stays pooled. */
const DRAIN_LIMIT = 64 * 1024;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\0\r\n]/;
const ignore = () => undefined;
/** Where every upstream socket reads into (see Http1Pool.open). */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** Whether a request path can go in a request line: no NUL, CR, LF or space. */
function pathOk(path: string): boolean {
  for (let k = 0; k < path.length; k++) {
    const c = path.charCodeAt(k);
    if (c <= 32 && (c === 32 || c === 13 || c === 10 || c === 0)) return false;
  }
  return true;
}

/** The request head, or throws on a header a filter or route made that cannot go on the wire. */
export function requestHead(req: UpstreamRequest, framing: string): string {
  if (!pathOk(req.path)) throw new UpstreamError('reset', `bad request path ${JSON.stringify(req.path.slice(0, 80))}`);
  let head = `${req.method} ${req.path} HTTP/1.1\r\nhost: ${req.authority}\r\n`;
  const h = req.headers;
  const check = req.checked !== true;
  for (const k in h) {
    const v = h[k]!;
    if (k === 'host') continue; // the authority above is the one
    if (check && !TOKEN.test(k)) throw new UpstreamError('reset', `bad header name ${JSON.stringify(k)}`);
    if (typeof v === 'string') {
      if (check && BAD_VALUE.test(v)) throw new UpstreamError('reset', `bad value of header ${k}`);
      head += `${k}: ${v}\r\n`;
    } else {
      for (const x of v) {
        if (check && BAD_VALUE.test(x)) throw new UpstreamError('reset', `bad value of header ${k}`);
        head += `${k}: ${x}\r\n`;
      }
    }
  }
  return `${head}${framing}\r\n`;
}

/** A connection error as an attempt failure: before the connection was up it is a connect failure. */
function failure(e: Error & { code?: string }, connected: boolean): UpstreamError {
  if (e instanceof UpstreamError) return e;
  const msg = e.code && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message;
  return new UpstreamError(connected ? 'reset' : 'connect-failure', msg, e);
}

class UpstreamBody extends Readable {
  constructor(private readonly exchange: Exchange) {
    // No auto-destroy after 'end' and no 'close' event: two fewer ticks per answer; abort() destroys.
    super({ autoDestroy: false, emitClose: false });
  }

  override _read(): void {
    this.exchange.conn.socket.resume();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.exchange.bodyDestroyed();
    cb(err);
  }
}

/** One request on one connection: the parser's sink, and the UpstreamResponse it turns into. */
class Exchange implements ResponseSink, UpstreamResponse {
  status = 0;
  headers: ResponseHeaders = {};
  /** The whole body when it came in the same read as the head (no trailers): written at once, no stream. */
  whole: Buffer | undefined;
  endAfterHeaders = false;
  grpc = false;
  readonly parser: ResponseParser;
  private ended = false;
  private sent = false;
  private settled = false;
  private resolved = false;
  private stream: UpstreamBody | undefined;
  /** Body bytes read with the head, before the attempt resolves. */
  private early: Buffer[] | undefined;
  private trailerMap: ResponseHeaders | undefined;
  /** Listening to the signal (this object is the listener: handleEvent, no closure per request). */
  private listening = false;

  constructor(
    readonly conn: Conn,
    readonly req: UpstreamRequest,
    private readonly signal: AbortSignal,
    private readonly resolve: (r: UpstreamResponse) => void,
    private readonly reject: (e: unknown) => void,
  ) {
    this.parser = new ResponseParser(this, req.method === 'HEAD');
  }

  start(): void {
    if (this.signal.aborted) return this.fail(this.signal.reason as Error);
    this.listening = true;
    this.signal.addEventListener('abort', this, { once: true });
    try {
      this.write();
    } catch (e) {
      this.fail(e as Error);
    }
  }

  private write(): void {
    const { req } = this;
    const socket = this.conn.socket;
    const body = req.body;
    if (body.stream === undefined) {
      socket.write(requestHead(req, ''), 'latin1');
      this.sent = true;
      return;
    }
    if (body.buffered !== undefined) {
      socket.write(requestHead(req, req.headers['content-length'] === undefined ? `content-length: ${body.buffered.length}\r\n` : ''), 'latin1');
      socket.write(body.buffered);
      this.sent = true;
      return;
    }
    const chunked = req.headers['content-length'] === undefined;
    const src = body.take();
    socket.write(requestHead(req, chunked ? 'transfer-encoding: chunked\r\n' : ''), 'latin1');
    writeBody(src, socket, chunked, () => this.conn.busyWith(this));
    src.once('end', () => {
      if (chunked && this.conn.busyWith(this)) socket.write('0\r\n\r\n', 'latin1');
      this.sent = true;
      if (this.ended) this.conn.finished(this, this.parser.keepAlive);
    });
  }

  // ---- ResponseSink ----

  head(status: number, headers: ResponseHeaders): void {
    this.status = status;
    this.headers = endToEnd(headers);
    this.grpc = responseIsGrpc(headers);
    this.endAfterHeaders = this.parser.done;
    this.settle();
    // Resolved by deliver() once the rest of this read is parsed: a small answer is then whole.
  }

  data(chunk: Buffer): void {
    if (this.stream) {
      if (!this.stream.push(chunk)) this.conn.socket.pause();
    } else (this.early ??= []).push(chunk);
  }

  end(trailers: ResponseHeaders | undefined): void {
    this.ended = true;
    this.trailerMap = trailers;
    this.stream?.push(null);
    // The request body may still be going out (an early answer): the connection waits for it.
    if (this.sent) this.conn.finished(this, this.parser.keepAlive);
    else if (!this.parser.keepAlive) this.conn.finished(this, false);
  }

  /** After the read that brought the head: resolves the attempt, with the whole body or a stream of it. */
  deliver(): void {
    if (this.resolved) return;
    this.resolved = true;
    if (this.ended && !this.endAfterHeaders && this.trailerMap === undefined) {
      const e = this.early;
      this.whole = e === undefined ? Buffer.alloc(0) : e.length === 1 ? e[0] : Buffer.concat(e);
      this.early = undefined;
    } else void this.body; // the stream, now: later reads push into it with backpressure
    this.resolve(this);
  }

  // ---- UpstreamResponse ----

  /** The body as a stream, made when first asked for (never, when the downstream writes `whole`). */
  get body(): UpstreamBody {
    if (this.stream) return this.stream;
    const s = new UpstreamBody(this);
    // A body nobody reads (a discarded answer) may still fail when its connection dies: not a crash.
    s.on('error', ignore);
    for (const c of this.whole ? [this.whole] : (this.early ?? [])) s.push(c);
    this.early = undefined;
    if (this.ended) s.push(null);
    return (this.stream = s);
  }

  trailers(): ResponseHeaders | undefined {
    return this.trailerMap;
  }

  abort(): void {
    if (!this.ended) this.conn.drop();
    if (this.stream && !this.stream.destroyed) this.stream.destroy();
  }

  discard(): void {
    if (this.ended) return;
    const cl = Number(this.headers['content-length']);
    if (cl <= DRAIN_LIMIT) this.body.resume();
    else this.abort();
  }

  // ---- failures ----

  /** The connection failed or was given up: before the head the attempt rejects, after it the body errors. */
  fail(e: Error): void {
    if (!this.resolved) {
      this.resolved = true;
      this.settle();
      this.conn.drop();
      this.reject(this.signal.aborted ? this.signal.reason : e instanceof ResponseParseError ? new UpstreamError('reset', e.message, e) : failure(e, true));
      return;
    }
    if (this.ended) return;
    this.conn.drop();
    if (!this.body.destroyed) this.body.destroy(e);
  }

  /** The same request on another connection (this one went stale before answering). */
  retry(conn: Conn): Exchange {
    this.settle();
    return new Exchange(conn, this.req, this.signal, this.resolve, this.reject);
  }

  /** Whether a failure now may be retried on a new connection: nothing of the answer came, the body can go again. */
  retriable(): boolean {
    return !this.settled && this.parser.bytesRead === 0 && this.req.body.replayable && !this.signal.aborted;
  }

  bodyDestroyed(): void {
    if (!this.ended) this.conn.drop();
  }

  private settle(): void {
    this.settled = true;
    if (this.listening) this.signal.removeEventListener('abort', this);
  }

  /** The signal aborted. */
  handleEvent(): void {
    this.fail(this.signal.reason as Error);
  }
}

class Conn {
  exchange: Exchange | undefined;
  uses = 0;
  dead = false;
  /** performance.now() when it last went idle. */
  idleSince = 0;

  constructor(
    readonly socket: Socket,
    private readonly pool: Http1Pool,
  ) {
    socket.on('end', () => {
      const ex = this.exchange;
      if (!ex) return void this.destroy();
      try {
        ex.parser.eof();
      } catch (e) {
        this.lost(ex, e as Error);
      }
      this.destroy();
    });
    socket.on('error', (e) => {
      const ex = this.exchange;
      if (ex) this.lost(ex, e);
      this.destroy();
    });
    socket.on('close', () => {
      const ex = this.exchange;
      if (ex) this.lost(ex, new Error('the upstream connection closed'));
      this.destroy();
    });
  }

  /** Bytes read off the socket (its onread callback: no stream machinery per read). */
  read(chunk: Buffer): void {
    const ex = this.exchange;
    if (!ex) return void this.destroy(new UpstreamError('reset', 'bytes from the upstream with no request outstanding'));
    try {
      ex.parser.execute(chunk);
    } catch (e) {
      return void ex.fail(e as Error);
    }
    // The exchange may have ended in this read and the connection moved on: `ex` is still this one.
    if (ex.parser.headed) ex.deliver();
  }

  busyWith(ex: Exchange): boolean {
    return this.exchange === ex && !this.dead;
  }

  /** A failed exchange: a stale pooled connection gets its request once more on a new one. */
  private lost(ex: Exchange, e: Error): void {
    this.exchange = undefined;
    if (this.uses > 1 && ex.retriable()) {
      this.dead = true;
      this.pool.resend(ex);
    } else ex.fail(e);
  }

  run(ex: Exchange): void {
    this.exchange = ex;
    this.uses++;
    ex.start();
  }

  /** The exchange ended; keep the connection when it can carry the next request. */
  finished(ex: Exchange, keep: boolean): void {
    if (this.exchange !== ex) return;
    this.exchange = undefined;
    if (keep && !this.dead && !this.socket.destroyed) this.pool.release(this);
    else this.destroy();
  }

  /** Closes the connection; an exchange on it fails with `e`. */
  destroy(e?: Error): void {
    const ex = this.exchange;
    this.drop();
    if (ex) ex.fail(e ?? new UpstreamError('reset', 'the upstream connection closed'));
  }

  /** Closes the connection for its exchange (which handles its own failure). */
  drop(): void {
    this.exchange = undefined;
    this.dead = true;
    if (!this.socket.destroyed) this.socket.destroy();
    this.pool.gone(this);
  }
}

interface Waiter {
  start(conn: Conn): void;
  fail(e: unknown): void;
}

export class Http1Pool {
  private readonly idle: Conn[] = [];
  private readonly waiting: Waiter[] = [];
  private readonly conns = new Set<Conn>();
  private closed = false;
  /** The endpoint left its cluster: busy connections finish their exchange, then close. */
  private draining = false;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly opts: Http1PoolOptions,
  ) {}

  /** Sends one request; resolves with the answer once its head is in (the body streams after). */
  request(req: UpstreamRequest, signal: AbortSignal): Promise<UpstreamResponse> {
    return new Promise((resolve, reject) => this.send(req, signal, resolve, reject));
  }

  /** request() with callbacks: exactly one of them is called, once (maybe before send() returns). */
  send(req: UpstreamRequest, signal: AbortSignal, resolve: (r: UpstreamResponse) => void, reject: (e: unknown) => void): void {
    if (signal.aborted) return reject(signal.reason);
    const idle = this.takeIdle();
    if (idle) return idle.run(new Exchange(idle, req, signal, resolve, reject));
    const waiter: Waiter = { start: (conn) => conn.run(new Exchange(conn, req, signal, resolve, reject)), fail: reject };
    if (this.conns.size < this.opts.maxConnections) return this.open(waiter, signal);
    this.waiting.push(waiter);
    signal.addEventListener(
      'abort',
      () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) {
          this.waiting.splice(i, 1);
          reject(signal.reason);
        }
      },
      { once: true },
    );
  }

  /** Connections open now (busy and idle). */
  get size(): number {
    return this.conns.size;
  }

  close(): void {
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const w of this.waiting.splice(0)) w.fail(new UpstreamError('reset', 'the proxy is shutting down'));
    for (const c of [...this.conns]) c.destroy(new UpstreamError('reset', 'the proxy is shutting down'));
  }

  /** Lets the pool go gracefully (its endpoint left the cluster): idle connections close now, busy ones after their answer. */
  drain(): void {
    this.draining = true;
    for (const c of this.idle.splice(0)) c.destroy();
  }

  // ---- used by the connections ----

  release(conn: Conn): void {
    const w = this.waiting.shift();
    if (w) return w.start(conn);
    if (this.draining) return conn.destroy();
    conn.idleSince = performance.now();
    this.idle.push(conn);
    // One sweep timer per pool instead of a socket timeout re-armed on every request.
    this.sweeper ??= setInterval(() => this.sweep(), Math.max(10, Math.min(this.opts.keepAliveMs / 2, 1000))).unref();
  }

  gone(conn: Conn): void {
    if (!this.conns.delete(conn)) return;
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    // A slot opened: a waiting request gets a new connection.
    const w = this.waiting.shift();
    if (w && !this.closed) this.open(w);
  }

  /** A request that met a stale pooled connection, once more on a fresh one. */
  resend(ex: Exchange): void {
    // Its slot was the stale connection's, freed already: this may go past the limit by one, briefly.
    this.open({ start: (conn) => conn.run(ex.retry(conn)), fail: (e) => ex.fail(e as Error) });
  }

  /** Closes connections idle for keepAliveMs; stops when the pool is empty. */
  private sweep(): void {
    const limit = performance.now() - this.opts.keepAliveMs;
    // idle is most recently used last: the stale ones are at the front.
    while (this.idle.length > 0 && this.idle[0]!.idleSince <= limit) this.idle.shift()!.destroy();
    if (this.conns.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  private takeIdle(): Conn | undefined {
    for (;;) {
      const c = this.idle.pop();
      if (!c) return undefined;
      if (!c.dead && !c.socket.destroyed) return c;
    }
  }

  private open(w: Waiter, signal?: AbortSignal): void {
    if (this.closed) return w.fail(new UpstreamError('reset', 'the proxy is shutting down'));
    // Reads land in one shared buffer (copied out at once: answers outlive the next read), handed to
    // the connection without a 'data' event; returning false pauses the socket, as push() would.
    let conn: Conn | undefined;
    const socket = connect({
      host: this.host,
      port: this.port,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number, buf: Uint8Array) => {
          const chunk = Buffer.allocUnsafe(n);
          READ_BUFFER.copy(chunk, 0, 0, n);
          conn!.read(chunk);
          return !conn!.socket.isPaused();
        },
      },
    });
    conn = new Conn(socket, this);
    this.conns.add(conn);
    const timer = setTimeout(() => socket.destroy(new UpstreamError('connect-failure', `connect timeout after ${this.opts.connectTimeoutMs}ms`)), this.opts.connectTimeoutMs);
    const onAbort = () => socket.destroy(signal!.reason as Error);
    signal?.addEventListener('abort', onAbort, { once: true });
    const early = (e: Error) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      w.fail(signal?.aborted ? signal.reason : failure(e, false));
    };
    socket.once('error', early);
    socket.once('connect', () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('error', early);
      w.start(conn);
    });
  }
}
