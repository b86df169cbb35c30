// An incremental HTTP/1.1 request parser for the http listener's raw-socket path (node:http's
// server costs more per request than the forwarding itself: an IncomingMessage, a ServerResponse,
// streams and a dozen events). Strict where requests get smuggled, refusing what llhttp refuses
// with the status node answers: both Content-Length and Transfer-Encoding, a repeated or non-numeric
// Content-Length, a Transfer-Encoding whose last coding is not chunked, bare LF or CR, obsolete line
// folding, whitespace before a header's colon → 400; a head over 16 KiB → 431. One message at a
// time: after a request's body the parser stops (keeping what follows) until resume(), so answers
// to pipelined requests go out in order.
import { type IncomingHttpHeaders, METHODS } from 'node:http';
import { ChunkedDecoder } from './chunked';
import { digitsValue, headerKey, headText, isLower, latin1Bytes, lineEnd, startsAt, TCHAR, valueEnd } from './http1-lex';

export const MAX_REQUEST_HEAD = 16 * 1024;
const LF2 = Buffer.from('\n\n');
const KNOWN_METHODS = new Set(METHODS);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Control characters other than HTAB (obs-text, 0x80–0xFF, is allowed as llhttp allows it). */
const BAD_VALUE = /[\0-\x08\x0a-\x1f\x7f]/;
/** A request target: visible ASCII and obs-text, no spaces. */
const BAD_TARGET = /[\0-\x20\x7f]/;

export class RequestParseError extends Error {
  constructor(
    message: string,
    /** The answer node gives: 400, or 431 for a head over the limit. */
    readonly status: 400 | 431 = 400,
  ) {
    super(message);
    this.name = 'RequestParseError';
  }
}

export interface RequestHead {
  method: string;
  target: string;
  /** 1 for HTTP/1.1, 0 for HTTP/1.0. */
  minor: number;
  /** As node:http reads them: lower-case names, repeats joined (set-cookie an array, one-only fields keep the first). */
  headers: IncomingHttpHeaders;
  /** Body bytes by Content-Length; -1 when chunked. 0: no body. */
  length: number;
  /** The client keeps the connection after this request. */
  keepAlive: boolean;
}

/** Fields node:http keeps only the first of (matchKnownFields' "drop duplicates" set). */
const FIRST_ONLY = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after',
  'server', 'user-agent',
]);

function addHeader(h: IncomingHttpHeaders, key: string, value: string): void {
  const prev = h[key];
  if (prev === undefined) h[key] = key === 'set-cookie' ? [value] : value;
  else if (key === 'set-cookie') (prev as string[]).push(value);
  else if (!FIRST_ONLY.has(key)) h[key] = `${prev as string}${key === 'cookie' ? '; ' : ', '}${value}`;
}

/** The request line as the full checks read it (their order picks the error). */
function slowRequestLine(line: string): { method: string; target: string; minor: number } {
  const sp1 = line.indexOf(' ');
  const sp2 = line.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || line.indexOf(' ', sp2 + 1) >= 0) throw new RequestParseError('bad request line');
  const method = line.slice(0, sp1);
  if (!KNOWN_METHODS.has(method)) throw new RequestParseError(`unknown method ${JSON.stringify(method.slice(0, 20))}`);
  const target = line.slice(sp1 + 1, sp2);
  if (target.length === 0 || BAD_TARGET.test(target)) throw new RequestParseError('bad request target');
  const version = line.slice(sp2 + 1);
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') throw new RequestParseError('bad HTTP version');
  return { method, target, minor: version.charCodeAt(7) - 48 };
}

/** The method b[0, end) as a constant string when it is a common one (no slice, no set lookup). */
function commonMethod(b: Uint8Array, end: number): string | undefined {
  const m = end === 3 ? (b[0] === 71 /* G */ ? 'GET' : 'PUT') : end === 4 ? (b[0] === 80 /* P */ ? 'POST' : 'HEAD') : end === 6 ? 'DELETE' : undefined;
  return m !== undefined && startsAt(b, 0, m) ? m : undefined;
}

/** Whether b[from, to) is a request target: not empty, visible ASCII and obs-text, no spaces. */
function targetOk(b: Uint8Array, from: number, to: number): boolean {
  if (from >= to) return false;
  for (let k = from; k < to; k++) {
    const c = b[k]!;
    if (c <= 32 || c === 127) return false;
  }
  return true;
}

const isBlank = (c: number): boolean => c === 32 || c === 9;

/** A header line the fast scan left to the full checks (their order picks the error); returns its key. */
function slowHeader(h: IncomingHttpHeaders, text: string, i: number, end: number): string {
  const colon = text.indexOf(':', i);
  if (colon < 0 || colon >= end) throw new RequestParseError('header line without a colon');
  const name = text.slice(i, colon);
  // A leading space or tab is obsolete line folding; one before the colon is refused too (RFC 9112 5.1).
  if (!TOKEN.test(name)) throw new RequestParseError(`bad header name ${JSON.stringify(name.slice(0, 40))}`);
  let a = colon + 1;
  let b = end;
  while (a < b && isBlank(text.charCodeAt(a))) a++;
  while (b > a && isBlank(text.charCodeAt(b - 1))) b--;
  const value = text.slice(a, b);
  if (BAD_VALUE.test(value)) throw new RequestParseError(`bad value of header ${name}`);
  const key = name.toLowerCase();
  addHeader(h, key, value);
  return key;
}

/** Parses the header lines text[from, to) into h (b: text's bytes); returns how many Content-Length lines came. */
function parseHeaders(b: Uint8Array, text: string, from: number, to: number, h: IncomingHttpHeaders): number {
  let lengths = 0;
  let i = from;
  while (i < to) {
    let j = i;
    let kind = 0;
    for (; j < to; j++) {
      const t = TCHAR[b[j]!]!;
      if (t === 0) break;
      kind |= t;
    }
    let end = j > i && j < to && b[j] === 58 /* : */ ? valueEnd(b, j + 1, to, 127) : -1;
    let key: string;
    if (end < 0) {
      end = lineEnd(text, i, to);
      key = slowHeader(h, text, i, end);
    } else {
      let v = j + 1;
      let e = end;
      while (v < e && isBlank(b[v]!)) v++;
      while (e > v && isBlank(b[e - 1]!)) e--;
      key = headerKey(b, text, 0, i, j, kind);
      addHeader(h, key, text.slice(v, e));
    }
    if (key === 'content-length') lengths++;
    i = end + 2;
  }
  return lengths;
}

/** Whether the client keeps the connection, by its Connection header. */
function keepAliveBy(conn: string, minor: number): boolean {
  // The common values, without lower-casing the value and regexes.
  if (isLower(conn, 'keep-alive')) return true;
  if (isLower(conn, 'close')) return false;
  const c = conn.toLowerCase();
  return minor === 1 ? !/(?:^|[\s,])close(?:$|[\s,])/.test(c) : /(?:^|[\s,])keep-alive(?:$|[\s,])/.test(c);
}

/** Parses a request head (request line and header lines, without the final empty line), latin1 text. */
export const parseRequestHead = (text: string): RequestHead => parseHead(latin1Bytes(text), text, text.length);

/** Parses the request head text[0, to); b: text's bytes (a buffer whose byte k is text's character k). */
function parseHead(b: Uint8Array, text: string, to: number): RequestHead {
  const eol = lineEnd(text, 0, to);
  // The fast checks of the common request line; anything they do not take gets the full ones.
  const sp1 = text.indexOf(' ');
  const sp2 = sp1 > 0 && sp1 < eol ? text.indexOf(' ', sp1 + 1) : -1;
  let method = sp2 > 0 && sp2 < eol ? commonMethod(b, sp1) : undefined;
  let target = '';
  let minor = 1;
  const v = sp2 + 1;
  if (method !== undefined && eol - v === 8 && startsAt(b, v, 'HTTP/1.') && (b[v + 7] === 49 || b[v + 7] === 48) && targetOk(b, sp1 + 1, sp2)) {
    target = text.slice(sp1 + 1, sp2);
    minor = b[v + 7]! - 48;
  } else ({ method, target, minor } = slowRequestLine(text.slice(0, eol)));

  const headers: IncomingHttpHeaders = {};
  const lengths = eol < to ? parseHeaders(b, text, eol + 2, to, headers) : 0;

  let length = 0;
  const te = headers['transfer-encoding'];
  if (te !== undefined) {
    if (lengths > 0) throw new RequestParseError('both Content-Length and Transfer-Encoding');
    if (te !== 'chunked') {
      const codings = te.toLowerCase().split(',');
      if (codings[codings.length - 1]!.trim() !== 'chunked') throw new RequestParseError('Transfer-Encoding does not end with chunked');
    }
    length = -1;
  } else if (lengths > 1) throw new RequestParseError('more than one Content-Length');
  else if (lengths === 1) {
    const cl = headers['content-length']!;
    length = digitsValue(cl);
    if (length < 0) throw new RequestParseError(`bad Content-Length ${JSON.stringify(cl.slice(0, 20))}`);
  }

  const conn = headers.connection;
  const keepAlive = conn === undefined ? minor === 1 : keepAliveBy(conn, minor);
  return { method, target, minor, headers, length, keepAlive };
}

/** What the parser hands on: a request's head, then its body. */
export interface RequestSink {
  head(head: RequestHead): void;
  /** A piece of the (de-chunked) body. */
  data(chunk: Buffer): void;
  /** The request's body ended (right after head() when it has none). */
  end(): void;
}

const enum State {
  Head,
  Length,
  Chunked,
  /** Between messages: waits for resume(). */
  Stopped,
  /** A head was handed over for good (the connection went elsewhere) or parsing failed. */
  Off,
}

export class RequestParser {
  private state = State.Head;
  /** Bytes not parsed yet. */
  private pending: Buffer | undefined;
  private remaining = 0;
  /** Where the current request's head started in the buffer being parsed (for take()). */
  private headBytes: Buffer | undefined;
  private chunks: ChunkedDecoder | undefined;
  /** For the chunked decoder (made with it: most bodies are not chunked). */
  private onData: ((c: Buffer) => void) | undefined;

  constructor(private readonly sink: RequestSink) {}

  /** Between requests: what was read past the last one is held until resume(). */
  get stopped(): boolean {
    return this.state === State.Stopped;
  }

  /** Bytes read and not yet parsed (pipelined requests held while one is answered). */
  get buffered(): number {
    return this.pending?.length ?? 0;
  }

  /** Feeds bytes off the socket; throws RequestParseError on a malformed request. */
  execute(chunk: Buffer): void {
    if (this.pending !== undefined) {
      this.pending = Buffer.concat([this.pending, chunk]);
      if (this.state === State.Stopped || this.state === State.Off) return;
      const buf = this.pending;
      this.pending = undefined;
      this.run(buf);
    } else if (this.state === State.Stopped || this.state === State.Off) this.pending = chunk;
    else this.run(chunk);
  }

  /** Parses the next request (after the previous one was answered). */
  resume(): void {
    if (this.state !== State.Stopped) return;
    this.state = State.Head;
    const buf = this.pending;
    this.pending = undefined;
    if (buf !== undefined) this.run(buf);
  }

  /**
   * Hands the bytes from the head just parsed on (inside sink.head(), for another server to read
   * the whole request) and stops for good.
   */
  takeOver(): Buffer {
    this.state = State.Off;
    const b = this.headBytes!;
    this.headBytes = undefined;
    return b;
  }

  private run(buf: Buffer): void {
    let i = 0;
    while (i < buf.length) {
      switch (this.state) {
        case State.Head: {
          // Empty lines before a request line are ignored (RFC 9112 2.2).
          while (i + 1 < buf.length && buf[i] === 13 && buf[i + 1] === 10) i += 2;
          if (i >= buf.length) return;
          const text = headText(buf, i);
          const end = text.indexOf('\r\n\r\n');
          if (end < 0) {
            // Bare LF line ends would never end the head: refused now, as llhttp does.
            if (buf.indexOf(LF2, i) >= 0) throw this.fail(new RequestParseError('bare LF in the request head'));
            return this.keep(buf, i, MAX_REQUEST_HEAD + 3, 431, 'request head');
          }
          if (end > MAX_REQUEST_HEAD) throw this.fail(new RequestParseError(`request head over ${MAX_REQUEST_HEAD} bytes`, 431));
          let head: RequestHead;
          try {
            head = parseHead(i === 0 ? buf : buf.subarray(i), text, end);
          } catch (e) {
            throw this.fail(e as Error);
          }
          this.headBytes = i === 0 ? buf : buf.subarray(i);
          i += end + 4;
          this.remaining = head.length;
          this.state = head.length === 0 ? State.Stopped : head.length < 0 ? State.Chunked : State.Length;
          if (head.length < 0) {
            this.chunks = new ChunkedDecoder(MAX_REQUEST_HEAD);
            this.onData ??= (c) => this.sink.data(c);
          }
          this.sink.head(head);
          if ((this.state as State) === State.Off) return; // taken over: the bytes went with the head
          this.headBytes = undefined;
          if (head.length === 0) {
            this.hold(buf, i);
            return this.sink.end();
          }
          break;
        }
        case State.Length: {
          const n = Math.min(this.remaining, buf.length - i);
          this.remaining -= n;
          this.sink.data(i === 0 && n === buf.length ? buf : buf.subarray(i, i + n));
          i += n;
          if (this.remaining === 0) return this.ended(buf, i);
          break;
        }
        case State.Chunked: {
          const dec = this.chunks!;
          try {
            i = dec.decode(buf, i, this.onData!);
          } catch (e) {
            throw this.fail(new RequestParseError((e as Error).message));
          }
          if (dec.done) {
            // Trailers are checked, then dropped: the upstream request is framed anew (node:http does not forward them either).
            for (const l of dec.trailers?.split('\r\n') ?? []) {
              const colon = l.indexOf(':');
              if (colon <= 0 || !TOKEN.test(l.slice(0, colon)) || BAD_VALUE.test(l.slice(colon + 1).trim())) throw this.fail(new RequestParseError('bad trailer line'));
            }
            return this.ended(buf, i);
          }
          if (i < buf.length) return this.keep(buf, i, dec.limit, dec.limit === MAX_REQUEST_HEAD ? 431 : 400, 'chunked body');
          break;
        }
        case State.Stopped:
        case State.Off:
          return this.hold(buf, i);
      }
    }
  }

  private ended(buf: Buffer, i: number): void {
    this.state = State.Stopped;
    this.hold(buf, i);
    this.sink.end();
  }

  /** Keeps buf from i (read past the current message) for later. */
  private hold(buf: Buffer, i: number): void {
    if (i < buf.length) this.pending = i === 0 ? buf : buf.subarray(i);
  }

  private keep(buf: Buffer, from: number, limit: number, status: 400 | 431, what: string): void {
    if (buf.length - from > limit) throw this.fail(new RequestParseError(`${what} over ${limit} bytes`, status));
    // A copy when it is a small tail of a large read, so the read buffer is not kept alive by it.
    this.pending = from === 0 ? buf : Buffer.from(buf.subarray(from));
  }

  private fail(e: Error): Error {
    this.state = State.Off;
    this.pending = undefined;
    return e;
  }
}
