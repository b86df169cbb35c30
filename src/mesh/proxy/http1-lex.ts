// Character classes and header names for the HTTP/1.1 parsers' one-pass header scans: loops over
// the head's bytes (indexing a Buffer costs half what charCodeAt does), slicing the head's latin1
// text only for what is kept, instead of a slice, regexes and trim per line. Common header names
// come back as constant strings: a constant key is already internalized, while a fresh slice used
// as an object key has V8 hash it and look it up in its string table on every store.

/** Per character: 0 not a tchar (RFC 9110 5.6.2), 1 a tchar, 3 an upper-case letter (a tchar). */
export const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 65; c <= 90; c++) TCHAR[c] = 3;
/** TCHAR bit of an upper-case letter. */
export const UPPER = 2;

const COMMON = [
  'accept', 'accept-encoding', 'accept-language', 'accept-ranges', 'access-control-allow-origin', 'age', 'authorization',
  'cache-control', 'connection', 'content-encoding', 'content-length', 'content-type', 'cookie', 'date', 'etag', 'expect',
  'expires', 'grpc-message', 'grpc-status', 'host', 'if-modified-since', 'if-none-match', 'keep-alive', 'last-modified',
  'location', 'origin', 'pragma', 'referer', 'server', 'set-cookie', 'strict-transport-security', 'te', 'traceparent',
  'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'x-forwarded-for', 'x-forwarded-proto', 'x-request-id',
];
interface Common {
  name: string;
  bytes: Uint8Array;
}
/** COMMON by length (an empty list for lengths none has: the array stays packed). */
const BY_LENGTH: Common[][] = Array.from({ length: 32 }, () => []);
for (const name of COMMON) BY_LENGTH[name.length]!.push({ name, bytes: Buffer.from(name, 'latin1') });

/**
 * The lower-cased header name b[start, end) (text: the same characters as a string), which must be
 * tchars only (so `| 0x20` folds letters and nothing else); `kind`: their TCHAR values or-ed.
 * Common names give their constant.
 */
export function headerKey(b: Uint8Array, text: string, textAt: number, start: number, end: number, kind: number): string {
  const len = end - start;
  const list = len < 32 ? BY_LENGTH[len]! : undefined;
  if (list !== undefined && list.length > 0) {
    const c0 = b[start]! | 0x20;
    for (let n = 0; n < list.length; n++) {
      const c = list[n]!;
      if (c.bytes[0] === c0 && foldedAt(b, start, c.bytes)) return c.name;
    }
  }
  const s = text.slice(start - textAt, end - textAt);
  return (kind & UPPER) === 0 ? s : s.toLowerCase();
}

/** Whether b at `start` is the lower-case `name` but for letter case (b: tchars). */
function foldedAt(b: Uint8Array, start: number, name: Uint8Array): boolean {
  for (let k = 1; k < name.length; k++) if ((b[start + k]! | 0x20) !== name[k]) return false;
  return true;
}

/** Whether b at `start` is the ASCII `s`. */
export function startsAt(b: Uint8Array, start: number, s: string): boolean {
  if (start + s.length > b.length) return false;
  for (let k = 0; k < s.length; k++) if (b[start + k] !== s.charCodeAt(k)) return false;
  return true;
}

/** text's characters as bytes (a character past 0xff, which no socket gives, as NUL: the full checks take it). */
export function latin1Bytes(text: string): Buffer {
  const b = Buffer.from(text, 'latin1');
  for (let k = 0; k < text.length; k++) if (text.charCodeAt(k) > 0xff) b[k] = 0;
  return b;
}

/** s lower-cased is `lower` (the common case of a Connection value: one token, no list to split). */
export const isLower = (s: string, lower: string): boolean => s === lower || (s.length === lower.length && s.toLowerCase() === lower);

/** Where the first CRLF at or after i ends a line of text[.., to), else `to` (as indexOf on text.slice(0, to)). */
export function lineEnd(text: string, i: number, to: number): number {
  const e = text.indexOf('\r\n', i);
  return e >= 0 && e + 2 <= to ? e : to;
}

/**
 * Where a header value starting at i ends (its CRLF, or `to`); -1 at a character the fast scan
 * leaves to the full checks: a control character but HTAB (NUL, a bare CR or LF), or `odd` (the
 * one more each parser checks there: DEL for requests, NBSP, which trim() drops, for answers).
 */
export function valueEnd(b: Uint8Array, i: number, to: number, odd: number): number {
  for (; i < to; i++) {
    const c = b[i]!;
    if (c >= 32 ? c !== odd : c === 9) continue;
    return c === 13 && i + 1 < to && b[i + 1] === 10 ? i : -1;
  }
  return to;
}

/** A Content-Length value's number: 1 to 15 digits, else -1. */
export function digitsValue(s: string): number {
  if (s.length === 0 || s.length > 15) return -1;
  let n = 0;
  for (let k = 0; k < s.length; k++) {
    const d = s.charCodeAt(k) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

const CRLF2 = Buffer.from('\r\n\r\n');
/** Bytes converted for a head search at first (heads are nearly always shorter). */
const SCAN = 2048;

/**
 * The bytes from i as latin1 text to look for a head's CRLF CRLF in: one conversion and a string
 * search cost less than Buffer#indexOf and then a toString, two calls into C++. At most SCAN bytes
 * when the head ends in them (the text may run on past it), else up to its end; no end: SCAN bytes.
 */
export function headText(buf: Buffer, i: number): string {
  if (buf.length - i <= SCAN) return buf.toString('latin1', i);
  const text = buf.toString('latin1', i, i + SCAN);
  if (text.includes('\r\n\r\n')) return text;
  const end = buf.indexOf(CRLF2, i);
  return end < 0 ? text : buf.toString('latin1', i, end + 4);
}
