// The proxy's HTTP/1.1 connection pool against real servers: node:http (keep-alive, chunked,
// trailers, bodies both ways, slow answers), and raw TCP servers for what node:http will not do
// (closing a kept-alive connection when the next request comes, cutting an answer short).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { UpstreamError } from './cluster/types';
import { Http1Pool } from './http1-pool';
import { NO_BODY, RequestBody, type UpstreamRequest, type UpstreamResponse } from './upstream';

const OPTS = { maxConnections: 8, keepAliveMs: 60_000, connectTimeoutMs: 1000 };

function req(over: Partial<UpstreamRequest> = {}): UpstreamRequest {
  return { method: 'GET', path: '/', authority: 'svc', headers: {}, body: NO_BODY, grpc: false, ...over };
}

const never = () => new AbortController().signal;

async function text(r: UpstreamResponse): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of r.body) parts.push(c as Buffer);
  return Buffer.concat(parts).toString();
}

function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; port: number; connections: () => number }> {
  const server = createServer(handler);
  let n = 0;
  server.on('connection', () => n++);
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({ server, port: (server.address() as AddressInfo).port, connections: () => n })));
}

function tcp(onConn: (s: Socket, n: number) => void): Promise<{ server: TcpServer; port: number }> {
  let n = 0;
  const server = createTcpServer((s) => onConn(s, n++));
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({ server, port: (server.address() as AddressInfo).port })));
}

describe('Http1Pool', () => {
  const closers: (() => void)[] = [];
  afterEach(() => {
    for (const c of closers.splice(0)) c();
  });
  const pool = (port: number, opts = OPTS) => {
    const p = new Http1Pool('127.0.0.1', port, opts);
    closers.push(() => p.close());
    return p;
  };

  it('sends the request as given and reuses one kept-alive connection', async () => {
    const seen: unknown[] = [];
    const up = await serve((rq, rs) => {
      seen.push({ method: rq.method, url: rq.url, host: rq.headers.host, multi: rq.headers['x-multi'] });
      rs.setHeader('set-cookie', ['a=1', 'b=2']);
      rs.end(`hi ${rq.url}`);
    });
    closers.push(() => up.server.close());
    const p = pool(up.port);
    for (let i = 0; i < 20; i++) {
      const r = await p.request(req({ path: `/x/${i}?q=1`, headers: { 'x-multi': ['1', '2'] } }), never());
      expect(r.status).toBe(200);
      expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2']);
      expect(await text(r)).toBe(`hi /x/${i}?q=1`);
    }
    expect(up.connections()).toBe(1);
    expect(seen[3]).toEqual({ method: 'GET', url: '/x/3?q=1', host: 'svc', multi: '1, 2' });
  });

  it('an answer that came whole with its head is handed over whole; its body can still be read as a stream', async () => {
    const up = await tcp((s) =>
      s.on('data', (d: Buffer) => {
        if (d.includes('/split')) {
          s.write('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabc');
          setTimeout(() => s.write('def'), 20);
        } else s.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nwhole');
      }),
    );
    closers.push(() => up.server.close());
    const p = pool(up.port);
    const small = await p.request(req(), never());
    expect(small.whole?.toString()).toBe('whole');
    expect(await text(small)).toBe('whole');
    const split = await p.request(req({ path: '/split' }), never());
    expect(split.whole).toBeUndefined();
    expect(await text(split)).toBe('abcdef');
  });

  it('opens at most maxConnections; the requests past them wait their turn', async () => {
    let active = 0;
    let peak = 0;
    const up = await serve((_rq, rs) => {
      peak = Math.max(peak, ++active);
      setTimeout(() => {
        active--;
        rs.end('ok');
      }, 30);
    });
    closers.push(() => up.server.close());
    const p = pool(up.port, { ...OPTS, maxConnections: 2 });
    const all = await Promise.all(Array.from({ length: 10 }, () => p.request(req(), never()).then(text)));
    expect(all).toEqual(Array(10).fill('ok'));
    expect(peak).toBe(2);
    expect(up.connections()).toBe(2);
  });

  it('streams chunked answers with trailers, and request bodies both buffered and streamed (chunked when no length)', async () => {
    const up = await serve((rq, rs) => {
      const parts: Buffer[] = [];
      rq.on('data', (c: Buffer) => parts.push(c));
      rq.on('end', () => {
        rs.writeHead(200, { trailer: 'x-sum' });
        rs.write(`${rq.headers['transfer-encoding'] ?? 'length ' + rq.headers['content-length']}:`);
        rs.write(Buffer.concat(parts));
        rs.addTrailers({ 'x-sum': String(Buffer.concat(parts).length) });
        rs.end();
      });
    });
    closers.push(() => up.server.close());
    const p = pool(up.port);
    const buffered = await p.request(req({ method: 'POST', body: new RequestBody(Readable.from([]), Buffer.from('abc')), headers: { 'content-length': '3' } }), never());
    expect(await text(buffered)).toBe('length 3:abc');
    expect(buffered.trailers()).toEqual({ 'x-sum': '3' });
    const stream = Readable.from([Buffer.from('one,'), Buffer.from('two')]);
    const streamed = await p.request(req({ method: 'POST', body: new RequestBody(stream) }), never());
    expect(await text(streamed)).toBe('chunked:one,two');
    expect(streamed.trailers()).toEqual({ 'x-sum': '7' });
    expect(up.connections()).toBe(1);
  });

  it('sends a large streamed request body chunked, byte for byte, to a slow reader', async () => {
    const big = Buffer.alloc(16 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 253;
    const up = await serve((rq, rs) => {
      const parts: Buffer[] = [];
      // Not reading at first fills the kernel's buffers and then the socket's: write() says false.
      rq.pause();
      setTimeout(() => rq.resume(), 300);
      rq.on('data', (c: Buffer) => parts.push(c));
      rq.on('end', () => rs.end(Buffer.concat(parts).equals(big) ? 'same' : `different: ${Buffer.concat(parts).length} bytes`));
    });
    closers.push(() => up.server.close());
    const chunks = Array.from({ length: big.length / 65536 }, (_, i) => big.subarray(i * 65536, (i + 1) * 65536));
    const r = await pool(up.port).request(req({ method: 'POST', body: new RequestBody(Readable.from(chunks)) }), never());
    expect(await text(r)).toBe('same');
  });

  it('moves a large answer with backpressure, byte for byte', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const up = await serve((_rq, rs) => rs.end(big));
    closers.push(() => up.server.close());
    const r = await pool(up.port).request(req(), never());
    const parts: Buffer[] = [];
    for await (const c of r.body) {
      parts.push(c as Buffer);
      if (parts.length % 16 === 0) await new Promise((res) => setTimeout(res, 1)); // a slow reader
    }
    expect(Buffer.concat(parts).equals(big)).toBe(true);
  });

  it('HEAD: no body is waited for; the connection carries the next request', async () => {
    const up = await serve((rq, rs) => (rq.method === 'HEAD' ? rs.writeHead(200, { 'content-length': '1000' }).end() : rs.end('x'.repeat(1000))));
    closers.push(() => up.server.close());
    const p = pool(up.port);
    const head = await p.request(req({ method: 'HEAD' }), never());
    expect(head.endAfterHeaders).toBe(true);
    expect(await text(await p.request(req(), never()))).toHaveLength(1000);
    expect(up.connections()).toBe(1);
  });

  it('sends a request once more on a new connection when a kept-alive one was closed by the server', async () => {
    // First connection: answers one request, then closes when the second arrives (a stale keep-alive).
    const up = await tcp((s, n) => {
      let count = 0;
      s.on('data', () => {
        if (n === 0 && count++ === 1) return void s.destroy();
        s.write(`HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nconn${n}`);
      });
    });
    closers.push(() => up.server.close());
    const p = pool(up.port);
    expect(await text(await p.request(req(), never()))).toBe('conn0');
    expect(await text(await p.request(req(), never()))).toBe('conn1');
  });

  it('does not send a streamed body twice: a stale connection fails that request', async () => {
    const up = await tcp((s, n) => {
      let count = 0;
      s.on('data', () => {
        if (count++ === 1) return void s.destroy();
        s.write(`HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nconn${n}`);
      });
    });
    closers.push(() => up.server.close());
    const p = pool(up.port);
    await text(await p.request(req(), never()));
    await expect(p.request(req({ method: 'POST', body: new RequestBody(Readable.from([Buffer.from('x')])) }), never())).rejects.toMatchObject({ kind: 'reset' });
  });

  it('a refused connection is a connect failure; an answer cut short errors the body', async () => {
    const closed = await tcp(() => undefined);
    const port = closed.port;
    await new Promise<void>((r) => closed.server.close(() => r()));
    const e = await pool(port).request(req(), never()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UpstreamError);
    expect(e).toMatchObject({ kind: 'connect-failure' });

    const up = await tcp((s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly some')));
    closers.push(() => up.server.close());
    const r = await pool(up.port).request(req(), never());
    await expect(text(r)).rejects.toThrow(/middle of the body/);
  });

  it('a malformed answer is a reset; the abort signal stops a request that waits for its answer', async () => {
    const bad = await tcp((s) => s.once('data', () => s.write('HTTP/1.1 2OO OK\r\n\r\n')));
    closers.push(() => bad.server.close());
    await expect(pool(bad.port).request(req(), never())).rejects.toMatchObject({ kind: 'reset', message: expect.stringMatching(/bad status line/) });

    const silent = await tcp(() => undefined);
    closers.push(() => silent.server.close());
    const p = pool(silent.port);
    const ac = new AbortController();
    const pending = p.request(req(), ac.signal);
    setTimeout(() => ac.abort(new Error('gone')), 50);
    await expect(pending).rejects.toThrow('gone');
    expect(p.size).toBe(0);
  });

  it('closes connections idle past keepAliveMs', async () => {
    const up = await serve((_rq, rs) => rs.end('ok'));
    closers.push(() => up.server.close());
    const p = pool(up.port, { ...OPTS, keepAliveMs: 50 });
    await text(await p.request(req(), never()));
    expect(p.size).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(p.size).toBe(0);
  });

  it('refuses headers that cannot go on the wire', async () => {
    const up = await serve((_rq, rs) => rs.end('ok'));
    closers.push(() => up.server.close());
    const p = pool(up.port);
    await expect(p.request(req({ headers: { 'x-a': 'b\r\nx-injected: 1' } }), never())).rejects.toMatchObject({ kind: 'reset', message: expect.stringMatching(/bad value of header x-a/) });
    expect(await text(await p.request(req(), never()))).toBe('ok');
  });
});
