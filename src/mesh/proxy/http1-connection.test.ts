// The listener's raw HTTP/1.1 path over real loopback sockets: pipelining, body framings both ways,
// malformed requests, and what it hands to node:http (absolute-form, Expect, CONNECT, HTTP/1.0).
import { createServer as createHttp, type Server } from 'node:http';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import pino from 'pino';
import { http1 } from '../../../test/http-clients';
import { until } from '../../../test/wait';
import { FilterRegistry } from '../registry';
import { createCluster } from './cluster';
import { meshProxySchema } from './config';
import { type MeshProxy, startMeshProxy } from './index';

const log = pino({ level: 'silent' });
const noPolicies = { timeouts: new Map(), retries: new Map(), circuitBreakers: new Map() };

let upstream: Server & { port: number };
let proxy: MeshProxy;
let port: number;

beforeAll(async () => {
  upstream = createHttp((req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => {
      if (req.url === '/big') {
        // No Content-Length: chunked to the proxy, streamed on to the client.
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        for (let i = 0; i < 10; i++) res.write(Buffer.alloc(50_000, 97 + i));
        return void res.end();
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method, url: req.url, bytes: n, te: req.headers['transfer-encoding'] ?? null, xff: req.headers['x-forwarded-for'] }));
    });
  }) as Server & { port: number };
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  upstream.port = (upstream.address() as { port: number }).port;
  const manifest = meshProxySchema.parse({
    apiVersion: 'layotto.io/v1',
    kind: 'MeshProxy',
    metadata: { name: 'raw' },
    spec: {
      listeners: [{ name: 'edge', address: 0, routes: [{ match: { host: 'svc' }, cluster: 'u' }] }],
      clusters: [{ name: 'u', endpoints: [`127.0.0.1:${upstream.port}`] }],
    },
  });
  proxy = await startMeshProxy([manifest], { createCluster, policies: noPolicies, log, filters: { registry: new FilterRegistry(), context: { appId: 'me', log } } });
  port = proxy.ports.edge!;
});

afterAll(async () => {
  await proxy.stop(0);
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
});

/** Writes `pieces` (a pause between them) on one connection; resolves with all it read once the server closes it. */
function exchange(pieces: (string | Buffer)[], gapMs = 5): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (c: Buffer) => (out += c.toString('latin1')));
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.on('connect', async () => {
      for (const p of pieces) {
        s.write(p);
        await new Promise((r) => setTimeout(r, gapMs));
      }
    });
  });
}

/** The answers in a byte stream of responses (Content-Length or chunked, no trailers): status, head and body. */
function answers(text: string): { status: number; head: string; body: string }[] {
  const out = [];
  let i = 0;
  while (i < text.length) {
    const end = text.indexOf('\r\n\r\n', i);
    if (end < 0) throw new Error(`an incomplete answer: ${JSON.stringify(text.slice(i, i + 200))}`);
    const head = text.slice(i, end);
    i = end + 4;
    let body = '';
    if (/transfer-encoding: chunked/i.test(head)) {
      for (;;) {
        const eol = text.indexOf('\r\n', i);
        const n = parseInt(text.slice(i, eol), 16);
        if (eol < 0 || !(n >= 0)) throw new Error(`a bad chunk: ${JSON.stringify(text.slice(i, i + 200))}`);
        i = eol + 2 + n + 2;
        if (n === 0) break;
        body += text.slice(eol + 2, eol + 2 + n);
      }
    } else {
      const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
      body = text.slice(i, i + len);
      i += len;
    }
    out.push({ status: Number(head.slice(9, 12)), head, body });
  }
  return out;
}

describe('raw HTTP/1.1 listener path', () => {
  it('answers pipelined requests in order, with Content-Length and chunked bodies', async () => {
    const text = await exchange([
      'GET /1 HTTP/1.1\r\nHost: svc\r\n\r\nPOST /2 HTTP/1.1\r\nHost: svc\r\nContent-Length: 5\r\n\r\nhel',
      'lo',
      'POST /3 HTTP/1.1\r\nHost: svc\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n',
      '4;x=y\r\ndefg\r\n0\r\n\r\nGET /none HTTP/1.1\r\nHost: elsewhere\r\n\r\nGET /5 HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n',
    ]);
    const a = answers(text);
    expect(a.map((x) => x.status)).toEqual([200, 200, 200, 404, 200]);
    expect(JSON.parse(a[0]!.body)).toMatchObject({ method: 'GET', url: '/1', bytes: 0, xff: '127.0.0.1' });
    expect(JSON.parse(a[1]!.body)).toMatchObject({ method: 'POST', url: '/2', bytes: 5, te: null });
    expect(JSON.parse(a[2]!.body)).toMatchObject({ method: 'POST', url: '/3', bytes: 7, te: 'chunked' });
    expect(a[3]!.body).toBe('no route');
    expect(JSON.parse(a[4]!.body)).toMatchObject({ url: '/5' });
    expect(a[4]!.head).toMatch(/\r\nconnection: close$/);
  });

  it('streams a large chunked answer on, chunked', async () => {
    const r = await http1(port, '/big', { headers: { host: 'svc' } });
    expect(r.status).toBe(200);
    expect(r.headers['transfer-encoding']).toBe('chunked');
    expect(r.text.length).toBe(500_000);
    expect(r.text.slice(450_000)).toBe('j'.repeat(50_000));
  });

  it('forwards large request bodies with backpressure, by Content-Length and chunked', async () => {
    const big = Buffer.alloc(3_000_000, 120);
    const byLength = await http1(port, '/up', { method: 'POST', headers: { host: 'svc', 'content-length': String(big.length) }, body: big });
    expect(JSON.parse(byLength.text)).toMatchObject({ bytes: big.length, te: null });
    const chunked = await http1(port, '/up', { method: 'POST', headers: { host: 'svc' }, body: Readable.from([big.subarray(0, 1_000_000), big.subarray(1_000_000)]) });
    expect(JSON.parse(chunked.text)).toMatchObject({ bytes: big.length, te: 'chunked' });
  });

  it('survives arbitrary bytes after a request: answers or closes, and serves on (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), async (junk) => {
        const text = await exchange(['GET /ok HTTP/1.1\r\nHost: svc\r\n\r\n', Buffer.from(junk), 'GET /x HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n'], 1).catch(() => 'reset');
        expect(text === 'reset' || text.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
      }),
      { numRuns: 40 },
    );
    expect((await http1(port, '/after', { headers: { host: 'svc' } })).status).toBe(200);
  });

  it('answers HEAD without a body', async () => {
    const text = await exchange(['HEAD /h HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n']);
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text).toMatch(/\r\n\r\n$/);
  });

  it.each([
    ['both Content-Length and Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: svc\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['two Content-Lengths', 'POST / HTTP/1.1\r\nHost: svc\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd', 400],
    ['a malformed request line', 'GET/ HTTP/1.1\r\n\r\n', 400],
    ['a bad chunk', 'POST / HTTP/1.1\r\nHost: svc\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n', 400],
    ['a head over 16 KiB', `GET / HTTP/1.1\r\nHost: svc\r\nx-big: ${'a'.repeat(17_000)}\r\n\r\n`, 431],
  ])('refuses %s and closes the connection', async (_what, request, status) => {
    const text = await exchange(['GET /ok HTTP/1.1\r\nHost: svc\r\n\r\n', request]);
    const a = answers(text);
    expect(a.map((x) => x.status)).toEqual([200, status]);
    expect(a[1]!.head).toMatch(/connection: close/i);
  });

  it('hands absolute-form, Expect and HTTP/1.0 requests to node:http, with what followed them', async () => {
    const absText = await exchange([`GET /a HTTP/1.1\r\nHost: svc\r\n\r\nGET http://svc/b?x=1 HTTP/1.1\r\nHost: svc\r\n\r\nGET /c HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n`]);
    const abs = answers(absText);
    expect(abs.map((x) => JSON.parse(x.body).url)).toEqual(['/a', '/b?x=1', '/c']);
    const expect100 = await exchange(['POST /e HTTP/1.1\r\nHost: svc\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\n', 'hi'], 50);
    expect(expect100).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
    expect(JSON.parse(answers(expect100.slice(expect100.indexOf('HTTP/1.1 200')))[0]!.body)).toMatchObject({ url: '/e', bytes: 2 });
    // node:http answers an HTTP/1.0 client close-delimited.
    const old = await exchange(['GET /old HTTP/1.0\r\nHost: svc\r\n\r\n']);
    expect(old).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\n\{"method":"GET","url":"\/old"/);
  });

  it('keeps counting right when a client leaves in the middle of a request body', async () => {
    const s = connect(port, '127.0.0.1');
    await new Promise((r) => s.on('connect', r));
    s.write('POST /slow HTTP/1.1\r\nHost: svc\r\nContent-Length: 100\r\n\r\nabc');
    await until(() => proxy.snapshot().listeners[0]!.stats.active === 1, () => 'the request is active');
    s.destroy();
    await until(() => proxy.snapshot().listeners[0]!.stats.active === 0, () => 'the request is over');
    // The proxy still serves.
    expect((await http1(port, '/after', { headers: { host: 'svc' } })).status).toBe(200);
  });
});
