// An incremental HTTP/1.1 response parser for the proxy's upstream connections. node:http's
// client costs several times what the forwarding itself does (a ClientRequest, an IncomingMessage,
// agent bookkeeping and a dozen events per request), so the HTTP/1.1 forwarder reads answers off
// its own sockets with this instead. Strict where smuggling hides (one Content-Length value,
// chunked as the final coding, CRLF line ends, token header names, size limits), it handles
// what a proxy meets: 1xx interim answers (skipped), bodies framed by Content-Length, chunked
// (decoded, trailers kept) or the connection's end, and answers that have no body (HEAD, 204, 304).
import { ChunkedDecoder } from './chunked';
import { digitsValue, headerKey, headText, isLower, lineEnd, startsAt, TCHAR, valueEnd } from './http1-lex';

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
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\0\r\n]/;

/** parseHeaderLines' result: which framing headers came (the rest of onHead reads only those). */
const SEEN_CONNECTION = 1;
const SEEN_TE = 2;
const SEEN_LENGTH = 4;

const enum State {
  Head,
  Length,
  Chunked,
  UntilClose,
  Done,
}

/** A header under its (lower-case) key; a repeated one becomes an array (forwarded as separate lines). */
function store(h: ResponseHeaders, key: string, value: string): void {
  const prev = h[key];
  if (prev === undefined) h[key] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else h[key] = [prev, value];
}

/** A header line the fast scan left to the full checks (their order picks the error); returns its key. */
function addLine(h: ResponseHeaders, line: string): string {
  if (line.charCodeAt(0) === 32 || line.charCodeAt(0) === 9) throw new ResponseParseError('obsolete line folding');
  if (line.includes('\n')) throw new ResponseParseError('bare LF in the header');
  const colon = line.indexOf(':');
  if (colon <= 0) throw new ResponseParseError(`header line without a name: ${JSON.stringify(line.slice(0, 80))}`);
  const name = line.slice(0, colon);
  if (!TOKEN.test(name)) throw new ResponseParseError(`bad header name ${JSON.stringify(name.slice(0, 80))}`);
  const value = line.slice(colon + 1).trim();
  if (BAD_VALUE.test(value)) throw new ResponseParseError(`bad value of header ${name}`);
  const key = name.toLowerCase();
  store(h, key, value);
  return key;
}

/**
 * Parses header lines b[from, to) (no empty line at their end) into h; `text`: the same bytes as a
 * string from b[at]. Returns the SEEN_ bits.
 */
function parseHeaderLines(b: Uint8Array, text: string, at: number, from: number, to: number, h: ResponseHeaders): number {
  let seen = 0;
  let i = from;
  while (i < to) {
    let j = i;
    let kind = 0;
    for (; j < to; j++) {
      const t = TCHAR[b[j]!]!;
      if (t === 0) break;
      kind |= t;
    }
    let eol = j > i && j < to && b[j] === 58 /* : */ ? valueEnd(b, j + 1, to, 160) : -1;
    let key: string;
    if (eol < 0) {
      eol = lineEnd(text, i - at, to - at) + at;
      key = addLine(h, text.slice(i - at, eol - at));
    } else {
      let v = j + 1;
      let e = eol;
      while (v < e && isBlank(b[v]!)) v++;
      while (e > v && isBlank(b[e - 1]!)) e--;
      key = headerKey(b, text, at, i, j, kind);
      store(h, key, text.slice(v - at, e - at));
    }
    if (key.length >= 10) seen |= key === 'connection' ? SEEN_CONNECTION : key === 'transfer-encoding' ? SEEN_TE : key === 'content-length' ? SEEN_LENGTH : 0;
    i = eol + 2;
  }
  return seen;
}

const isBlank = (c: number): boolean => c === 32 || c === 9;

/** Whether b[i, eol) is `HTTP/1.x NNN` with an optional ` reason` (no CR or LF in it). */
function statusLineOk(b: Uint8Array, i: number, eol: number): boolean {
  if (eol - i < 12 || !startsAt(b, i, 'HTTP/1.') || b[i + 8] !== 32) return false;
  const minor = b[i + 7];
  if (minor !== 48 && minor !== 49) return false;
  for (let k = i + 9; k < i + 12; k++) if (!isDigit(b[k]!)) return false;
  if (eol - i === 12) return true;
  if (b[i + 12] !== 32) return false;
  for (let k = i + 13; k < eol; k++) if (b[k] === 13 || b[k] === 10) return false;
  return true;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** Whether the connection stays open after this answer, by its Connection header. */
function keepAliveBy(conn: string | string[], http10: boolean): boolean {
  if (typeof conn === 'string') {
    // The common values, without joining, lower-casing and regexes.
    if (isLower(conn, 'keep-alive')) return true;
    if (isLower(conn, 'close')) return false;
  }
  const tokens = (Array.isArray(conn) ? conn.join(',') : conn).toLowerCase();
  return http10 ? /\bkeep-alive\b/.test(tokens) : !/\bclose\b/.test(tokens);
}

/** The only Content-Length value, or throws when values disagree or are not a number. */
function contentLength(v: string | string[]): number {
  if (typeof v === 'string') {
    const n = digitsValue(v);
    if (n >= 0) return n;
  }
  const values = (Array.isArray(v) ? v : [v]).flatMap((x) => x.split(','));
  const first = values[0]!.trim();
  const n = digitsValue(first);
  if (n < 0 || values.some((x) => x.trim() !== first)) throw new ResponseParseError(`bad Content-Length ${JSON.stringify(String(v))}`);
  return n;
}

/** Whether chunked is the final transfer coding. */
function chunkedLast(te: string | string[]): boolean {
  if (te === 'chunked') return true;
  const codings = (Array.isArray(te) ? te.join(',') : te).toLowerCase().split(',');
  return codings[codings.length - 1]!.trim() === 'chunked';
}

export class ResponseParser {
  private state = State.Head;
  private pending: Buffer | undefined;
  private remaining = 0;
  private trailers: ResponseHeaders | undefined;
  private chunks: ChunkedDecoder | undefined;
  /** For the chunked decoder (made with it: most bodies are not chunked). */
  private onData: ((c: Buffer) => void) | undefined;
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
          const text = headText(buf, i);
          const end = text.indexOf('\r\n\r\n');
          if (end < 0) return this.keep(buf, i, MAX_HEAD, 'response head');
          if (end > MAX_HEAD) throw new ResponseParseError(`response head over ${MAX_HEAD} bytes`);
          this.onHead(buf, i, text, end);
          i += end + 4;
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
            i = dec.decode(buf, i, this.onData!);
          } catch (e) {
            throw new ResponseParseError((e as Error).message);
          }
          if (dec.done) {
            if (dec.trailers !== undefined) parseHeaderLines(Buffer.from(dec.trailers, 'latin1'), dec.trailers, 0, 0, dec.trailers.length, (this.trailers = {}));
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

  /** The head b[i, i + n); `text`: b from i as a string. */
  private onHead(b: Uint8Array, i: number, text: string, n: number): void {
    const eol = lineEnd(text, 0, n);
    if (!statusLineOk(b, i, i + eol)) throw new ResponseParseError(`bad status line ${JSON.stringify(text.slice(0, Math.min(eol, 80)))}`);
    const http10 = b[i + 7] === 48; /* HTTP/1.0 */
    const status = (b[i + 9]! - 48) * 100 + (b[i + 10]! - 48) * 10 + (b[i + 11]! - 48);
    const headers: ResponseHeaders = {};
    const seen = eol < n ? parseHeaderLines(b, text, i, i + eol + 2, i + n, headers) : 0;
    if (status < 200) {
      if (status === 101) throw new ResponseParseError('101 Switching Protocols was not asked for');
      return; // an interim answer (100 Continue, 103 Early Hints): the final one follows
    }
    this.keepAlive = (seen & SEEN_CONNECTION) === 0 ? !http10 : keepAliveBy(headers.connection!, http10);
    const te = (seen & SEEN_TE) === 0 ? undefined : headers['transfer-encoding'];
    const cl = (seen & SEEN_LENGTH) === 0 ? undefined : headers['content-length'];
    if (this.headRequest || status === 204 || status === 304) {
      this.state = State.Done;
    } else if (te !== undefined) {
      // Both framings at once is how responses get smuggled: trust chunked, never reuse the connection.
      if (cl !== undefined) this.keepAlive = false;
      if (chunkedLast(te)) {
        this.state = State.Chunked;
        this.chunks = new ChunkedDecoder(MAX_HEAD);
        this.onData = (c) => this.sink.data(c);
      } else {
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
