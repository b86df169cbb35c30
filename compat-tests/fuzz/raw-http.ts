// A raw HTTP/1.1 client over a TCP socket: the fuzzers need request lines, header values and bodies
// that fetch/undici refuse to send (non-UTF-8 bytes in the path, odd verbs, broken chunked framing).
// One connection per request (Connection: close); the answer is read until the server closes.
import { connect } from 'node:net';

export interface RawRequest {
  method: string;
  /** The request target as bytes on the wire (may hold bytes that are not UTF-8). */
  path: Buffer;
  headers: [string, string | Buffer][];
  body: Buffer;
  /** How the body is framed: Content-Length, valid chunks, or no length at all (body left unsent). */
  framing: 'length' | 'chunked' | 'none';
}

export interface RawResponse {
  /** 0 when the server closed without an answer. */
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Milliseconds until the connection closed. */
  ms: number;
}

const CRLF = '\r\n';

export function serialize(req: RawRequest, port: number): Buffer {
  const head: Buffer[] = [Buffer.from(`${req.method} `, 'latin1'), req.path, Buffer.from(` HTTP/1.1${CRLF}host: 127.0.0.1:${port}${CRLF}connection: close${CRLF}`, 'latin1')];
  for (const [name, value] of req.headers) head.push(Buffer.from(`${name}: `, 'latin1'), Buffer.isBuffer(value) ? value : Buffer.from(value, 'latin1'), Buffer.from(CRLF));
  if (req.framing === 'length') head.push(Buffer.from(`content-length: ${req.body.length}${CRLF}`));
  if (req.framing === 'chunked') head.push(Buffer.from(`transfer-encoding: chunked${CRLF}`));
  head.push(Buffer.from(CRLF));
  if (req.framing === 'length') head.push(req.body);
  if (req.framing === 'chunked') {
    // Uneven chunks, as a streaming client would send them.
    for (let at = 0; at < req.body.length; ) {
      const n = Math.min(req.body.length - at, 1 + ((at * 7919) % 8191));
      head.push(Buffer.from(`${n.toString(16)}${CRLF}`), req.body.subarray(at, at + n), Buffer.from(CRLF));
      at += n;
    }
    head.push(Buffer.from(`0${CRLF}${CRLF}`));
  }
  return Buffer.concat(head);
}

function decodeChunked(buf: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  while (at < buf.length) {
    const eol = buf.indexOf(CRLF, at);
    if (eol < 0) break;
    const n = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(n) || n === 0) break;
    out.push(buf.subarray(eol + 2, eol + 2 + n));
    at = eol + 2 + n + 2;
  }
  return Buffer.concat(out);
}

/** The first response on the connection (a server may answer twice when the request was split). */
export function parseResponse(raw: Buffer, ms: number): RawResponse {
  // Interim answers (100 Continue to an Expect header) come first: skip them.
  while (/^HTTP\/1\.[01] 1\d\d /.test(raw.subarray(0, 16).toString('latin1')) && raw.indexOf(CRLF + CRLF) >= 0) raw = raw.subarray(raw.indexOf(CRLF + CRLF) + 4);
  const end = raw.indexOf(CRLF + CRLF);
  if (end < 0) return { status: 0, headers: {}, body: raw, ms };
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split(CRLF);
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = raw.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = decodeChunked(body);
  else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return { status, headers, body, ms };
}

/** Sends one request; rejects only when the server neither answers nor closes within `timeoutMs` (a hang). */
export function send(port: number, req: RawRequest | Buffer, timeoutMs = 15000): Promise<RawResponse> {
  const bytes = Buffer.isBuffer(req) ? req : serialize(req, port);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer and no close within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve(parseResponse(Buffer.concat(chunks), Date.now() - started));
    };
    sock.on('data', (c: Buffer) => chunks.push(c));
    // A server that answers early (413) and closes may reset our unsent rest: what was read counts.
    sock.once('error', () => sock.destroy());
    sock.once('close', done);
    sock.write(bytes);
  });
}
