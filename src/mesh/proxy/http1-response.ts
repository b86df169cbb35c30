// An incremental HTTP/1.1 response parser for the proxy's upstream connections. node:http's
// client costs several times what the forwarding itself does (a ClientRequest, an IncomingMessage,
// agent bookkeeping and a dozen events per request), so the HTTP/1.1 forwarder reads answers off
// its own sockets with this instead. Strict where smuggling hides (one Content-Length value,
// chunked as the final coding, CRLF line ends, token header names, size limits), it handles
// what a proxy meets: 1xx interim answers (skipped), bodies framed by Content-Length, chunked
// (decoded, trailers kept) or the connection's end, and answers that have no body (HEAD, 204, 304).
import { ChunkedDecoder } from './chunked';

export type ResponseHeaders = Record<string, string | string[]>;

export interface ResponseSink {
  /** The final answer's status line and headers. */
  head(status: number, headers: ResponseHeaders): void;
  /** A piece of the (decoded) body. */
  data(chunk: Buffer): void;
  /** The whole answer is in; chunked trailers when there were any. */
  end(trailers: ResponseHeaders | undefined): void;
}

export class ResponseParseError extends Error {
  constructor(message: string) {
    super(`invalid upstream response: ${message}`);
    this.name = 'ResponseParseError';
  }
}

/** Status line plus headers, as node:http's default --max-http-header-size. */
export const MAX_HEAD = 16 * 1024;
const CRLF2 = Buffer.from('\r\n\r\n');
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\0\r\n]/;
const STATUS_LINE = /^HTTP\/1\.[01] \d{3}(?: .*)?$/;

const enum State {
  Head,
  Length,
  Chunked,
  UntilClose,
  Done,
}

/** Adds a header, lower-cased; a repeated one becomes an array (forwarded as separate lines). */
function addHeader(h: ResponseHeaders, line: string): void {
  const colon = line.indexOf(':');
  if (colon <= 0) throw new ResponseParseError(`header line without a name: ${JSON.stringify(line.slice(0, 80))}`);
  const name = line.slice(0, colon);
  if (!TOKEN.test(name)) throw new ResponseParseError(`bad header name ${JSON.stringify(name.slice(0, 80))}`);
  const value = line.slice(colon + 1).trim();
  if (BAD_VALUE.test(value)) throw new ResponseParseError(`bad value of header ${name}`);
  const key = name.toLowerCase();
  const prev = h[key];
  if (prev === undefined) h[key] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else h[key] = [prev, value];
}

/** Parses one block of header lines (no empty line at its end). */
function parseHeaderLines(text: string, from: number, h: ResponseHeaders): void {
  let i = from;
  while (i < text.length) {
    let eol = text.indexOf('\r\n', i);
    if (eol < 0) eol = text.length;
    const line = text.slice(i, eol);
    if (line.charCodeAt(0) === 32 || line.charCodeAt(0) === 9) throw new ResponseParseError('obsolete line folding');
    if (line.includes('\n')) throw new ResponseParseError('bare LF in the header');
    addHeader(h, line);
    i = eol + 2;
  }
}

const DIGITS = /^\d{1,15}$/;

/** The only Content-Length value, or throws when values disagree or are not a number. */
function contentLength(v: string | string[]): number {
  if (typeof v === 'string' && DIGITS.test(v)) return Number(v);
  const values = (Array.isArray(v) ? v : [v]).flatMap((x) => x.split(','));
  const first = values[0]!.trim();
  if (!DIGITS.test(first) || values.some((x) => x.trim() !== first)) throw new ResponseParseError(`bad Content-Length ${JSON.stringify(String(v))}`);
  return Number(first);
}

export class ResponseParser {
  private state = State.Head;
  private pending: Buffer | undefined;
  private remaining = 0;
  private trailers: ResponseHeaders | undefined;
  private chunks: ChunkedDecoder | undefined;
  private readonly onData = (c: Buffer): void => this.sink.data(c);
  /** The connection may carry another request once this answer ends. */
  keepAlive = true;
  /** Bytes of the answer read so far (zero: the connection died before any). */
  bytesRead = 0;

  constructor(
    private readonly sink: ResponseSink,
    /** A HEAD request: the answer has no body whatever its headers say. */
    private readonly headRequest: boolean,
  ) {}

  get done(): boolean {
    return this.state === State.Done;
  }

  /** Whether the final head has been read (the sink got head()). */
  get headed(): boolean {
    return this.state !== State.Head;
  }

  /** Feeds bytes from the socket; throws ResponseParseError on a malformed answer. */
  execute(chunk: Buffer): void {
    this.bytesRead += chunk.length;
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    let i = 0;
    while (i < buf.length) {
      switch (this.state) {
        case State.Head: {
          const end = buf.indexOf(CRLF2, i);
          if (end < 0) return this.keep(buf, i, MAX_HEAD, 'response head');
          if (end - i > MAX_HEAD) throw new ResponseParseError(`response head over ${MAX_HEAD} bytes`);
          this.onHead(buf.toString('latin1', i, end));
          i = end + 4;
          break;
        }
        case State.Length: {
          const n = Math.min(this.remaining, buf.length - i);
          this.remaining -= n;
          this.sink.data(i === 0 && n === buf.length ? buf : buf.subarray(i, i + n));
          i += n;
          if (this.remaining === 0) this.finish();
          break;
        }
        case State.Chunked: {
          const dec = this.chunks!;
          try {
            i = dec.decode(buf, i, this.onData);
          } catch (e) {
            throw new ResponseParseError((e as Error).message);
          }
          if (dec.done) {
            if (dec.trailers !== undefined) parseHeaderLines(dec.trailers, 0, (this.trailers = {}));
            this.finish();
          } else if (i < buf.length) return this.keep(buf, i, dec.limit, 'chunked body');
          break;
        }
        case State.UntilClose:
          this.sink.data(i === 0 ? buf : buf.subarray(i));
          return;
        case State.Done:
          // Bytes after a complete answer: the connection is out of step; never reuse it.
          this.keepAlive = false;
          return;
      }
    }
  }

  /** The connection ended: completes a close-delimited body; throws when an answer was cut short. */
  eof(): void {
    if (this.state === State.UntilClose) return this.finish();
    if (this.state !== State.Done) throw new ResponseParseError(this.state === State.Head ? 'the connection closed before the response head' : 'the connection closed in the middle of the body');
  }

  private keep(buf: Buffer, from: number, limit: number, what: string): void {
    if (buf.length - from > limit) throw new ResponseParseError(`${what} over ${limit} bytes`);
    this.pending = Buffer.from(buf.subarray(from));
  }

  private onHead(text: string): void {
    const eol = text.indexOf('\r\n');
    const line = eol < 0 ? text : text.slice(0, eol);
    if (!STATUS_LINE.test(line)) throw new ResponseParseError(`bad status line ${JSON.stringify(line.slice(0, 80))}`);
    const http10 = line.charCodeAt(7) === 48; /* HTTP/1.0 */
    const status = (line.charCodeAt(9) - 48) * 100 + (line.charCodeAt(10) - 48) * 10 + (line.charCodeAt(11) - 48);
    const headers: ResponseHeaders = {};
    if (eol >= 0) parseHeaderLines(text, eol + 2, headers);
    if (status < 200) {
      if (status === 101) throw new ResponseParseError('101 Switching Protocols was not asked for');
      return; // an interim answer (100 Continue, 103 Early Hints): the final one follows
    }
    const conn = headers.connection;
    if (conn === undefined) this.keepAlive = !http10;
    else {
      const tokens = (Array.isArray(conn) ? conn.join(',') : conn).toLowerCase();
      this.keepAlive = http10 ? /\bkeep-alive\b/.test(tokens) : !/\bclose\b/.test(tokens);
    }
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    if (this.headRequest || status === 204 || status === 304) {
      this.state = State.Done;
    } else if (te !== undefined) {
      const codings = (Array.isArray(te) ? te.join(',') : te).toLowerCase().split(',').map((s) => s.trim());
      // Both framings at once is how responses get smuggled: trust chunked, never reuse the connection.
      if (cl !== undefined) this.keepAlive = false;
      if (codings[codings.length - 1] === 'chunked') {
        this.state = State.Chunked;
        this.chunks = new ChunkedDecoder(MAX_HEAD);
      }
      else {
        this.state = State.UntilClose;
        this.keepAlive = false;
      }
    } else if (cl !== undefined) {
      this.remaining = contentLength(cl);
      this.state = this.remaining === 0 ? State.Done : State.Length;
    } else {
      this.state = State.UntilClose;
      this.keepAlive = false;
    }
    this.sink.head(status, headers);
    if (this.state === State.Done) this.sink.end(undefined);
  }

  private finish(): void {
    this.state = State.Done;
    this.sink.end(this.trailers);
  }
}
