// Real upstreams for the mesh proxy suites: an HTTP/1.1 echo that counts its connections and an
// h2c echo (the small HTTP/1.1 and h2c clients live in test/http-clients.ts).
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createServer as createH2, type Http2Server } from 'node:http2';
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

export { type Answer, h2c, http1 } from '../../test/http-clients';

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
