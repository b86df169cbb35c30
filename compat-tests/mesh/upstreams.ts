// Real upstreams and clients for the mesh proxy suites: an HTTP/1.1 echo that counts its
// connections, an h2c echo, and small HTTP/1.1 and h2c (prior knowledge) clients.
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import { connect as h2connect, createServer as createH2, type Http2Server } from 'node:http2';
import { Readable } from 'node:stream';

export interface Echo extends Server {
  port: number;
  name: string;
  connections: number;
}

/**
 * Answers JSON {name, method, url, headers, bytes} after reading the body; POST …/stream echoes the
 * body back as it arrives instead (streamed, never buffered); /slow/<ms> waits first.
 */
export async function echoServer(name: string): Promise<Echo> {
  const s = createServer((req, res) => {
    if (req.url?.endsWith('/stream')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-upstream': name });
      req.pipe(res);
      return;
    }
    const wait = /^\/slow\/(\d+)/.exec(req.url ?? '');
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () =>
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name });
        res.end(JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers, bytes }));
      }, wait ? Number(wait[1]) : 0),
    );
  }) as Echo;
  s.name = name;
  s.connections = 0;
  s.on('connection', () => s.connections++);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  s.port = (s.address() as { port: number }).port;
  return s;
}

/** An h2c server: JSON {name, path, authority, bytes}; POST …/stream echoes the body back as it arrives. */
export async function h2EchoServer(name: string): Promise<Http2Server & { port: number }> {
  const s = createH2();
  s.on('stream', (stream, h) => {
    if (h[':path']?.endsWith('/stream')) {
      stream.respond({ ':status': 200, 'x-upstream': name });
      stream.pipe(stream);
      return;
    }
    let bytes = 0;
    stream.on('data', (c: Buffer) => (bytes += c.length));
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/json', 'x-upstream': name });
      stream.end(JSON.stringify({ name, path: h[':path'], authority: h[':authority'], bytes }));
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return Object.assign(s, { port: (s.address() as { port: number }).port });
}

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

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** `size` pseudo-random bytes as a stream of 64 KiB chunks, and their hash. */
export function bigBody(size: number): { stream: () => Readable; hash: string } {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 2654435761) >>> 24;
  return {
    stream: () => Readable.from((function* () {
      for (let o = 0; o < size; o += 65536) yield data.subarray(o, Math.min(size, o + 65536));
    })()),
    hash: sha256(data),
  };
}

export const closeServer = (s: Server | Http2Server): Promise<void> =>
  new Promise((r) => {
    (s as Server).closeAllConnections?.();
    s.close(() => r());
  });
