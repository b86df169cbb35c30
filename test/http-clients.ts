// Small HTTP/1.1 and h2c (prior knowledge) clients that answer status, headers, body and, for h2c,
// trailers: for the mesh proxy's unit and compat suites.
import { type IncomingHttpHeaders, request } from 'node:http';
import { connect as h2connect } from 'node:http2';
import type { Readable } from 'node:stream';

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders | Record<string, unknown>;
  body: Buffer;
  text: string;
}

/** An HTTP/1.1 request to 127.0.0.1:port; `body` may be a stream (sent chunked). */
export function http1(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer | Readable } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, body, text: body.toString() });
      });
      res.on('error', reject);
    });
    r.on('error', reject);
    const b = opts.body;
    if (b && typeof b === 'object' && 'pipe' in b) b.pipe(r);
    else r.end(b);
  });
}

/** One request over a fresh h2c (prior knowledge) connection; answers with trailers too. */
export function h2c(port: number, headers: Record<string, string>, body?: Buffer | Readable): Promise<Answer & { trailers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const c = h2connect(`http://127.0.0.1:${port}`);
    c.on('error', reject);
    const s = c.request({ ':method': body ? 'POST' : 'GET', ...headers }, { endStream: !body });
    let h: Record<string, unknown> = {};
    let trailers: Record<string, unknown> = {};
    const chunks: Buffer[] = [];
    s.on('response', (x) => (h = x));
    s.on('trailers', (x) => (trailers = x));
    s.on('data', (x: Buffer) => chunks.push(x));
    s.on('end', () => {
      c.close();
      const b = Buffer.concat(chunks);
      resolve({ status: Number(h[':status']), headers: h, trailers, body: b, text: b.toString() });
    });
    s.on('error', reject);
    if (Buffer.isBuffer(body)) s.end(body);
    else body?.pipe(s);
  });
}
