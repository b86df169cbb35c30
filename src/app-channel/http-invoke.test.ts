// HttpAppChannel.invoke and probeHealth against a real node:http app on loopback (and an h2c
// one): the request as the app receives it, the answer as it comes back, streaming both ways,
// the --app-max-concurrency slot held until the answer is read, and failures.
import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { sleep } from '../../test/wait';
import type { InvokeRequest } from '../core/invoke/types';
import { HttpAppChannel } from './http';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

let server: http.Server;
let port: number;
let handler: Handler;

beforeAll(async () => {
  server = http.createServer((req, res) => handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const channelOf = (over: Partial<ConstructorParameters<typeof HttpAppChannel>[0]> = {}) =>
  new HttpAppChannel({ address: '127.0.0.1', port, protocol: 'http', appId: 'app', appApiToken: 'app-secret', ...over });

const req = (over: Partial<InvokeRequest> = {}): InvokeRequest => ({
  appId: 'app',
  method: 'orders/42',
  verb: 'PUT',
  query: 'x=1&y=%20',
  headers: { 'x-one': ['1'], 'x-two': ['a', 'b'], 'grpc-timeout': ['1S'], 'trace-bin': ['AAE='] },
  contentType: 'application/json',
  body: Readable.from([Buffer.from('{"n":1}')]),
  length: 7,
  ...over,
});

const read = (r: http.IncomingMessage) => new Promise<string>((resolve) => {
  const chunks: Buffer[] = [];
  r.on('data', (c: Buffer) => chunks.push(c));
  r.on('end', () => resolve(Buffer.concat(chunks).toString()));
});

describe('HttpAppChannel.invoke', () => {
  it('sends verb, path, query, headers (gRPC-only ones renamed, binary ones dropped), token and body', async () => {
    let got: { method?: string; url?: string; headers?: http.IncomingHttpHeaders; body?: string } = {};
    handler = async (r, res) => {
      got = { method: r.method, url: r.url, headers: r.headers, body: await read(r) };
      res.writeHead(201, { 'content-type': 'text/plain', 'content-length': '7', 'x-app': 'yes', 'set-cookie': ['a=1', 'b=2'] }).end('created');
    };
    const channel = channelOf();
    const res = await channel.invoke(req());
    expect(got).toMatchObject({ method: 'PUT', url: '/orders/42?x=1&y=%20', body: '{"n":1}' });
    expect(got.headers).toMatchObject({ 'x-one': '1', 'x-two': 'a, b', 'dapr-grpc-timeout': '1S', 'content-type': 'application/json', 'content-length': '7', 'dapr-api-token': 'app-secret' });
    expect(got.headers!['trace-bin']).toBeUndefined();
    expect(res.status).toBe(201);
    expect(res.contentType).toBe('text/plain');
    expect(res.headers).toMatchObject({ 'x-app': ['yes'], 'set-cookie': ['a=1', 'b=2'], 'content-length': ['7'] });
    expect(res.headers.connection).toBeUndefined();
    expect(Buffer.concat(await res.body.toArray()).toString()).toBe('created');
    await channel.close();
  });

  it('a body known to be empty goes as none: a GET has no body framing, a POST Content-Length 0; the source is drained', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    handler = async (r, res) => {
      seen.push(r.headers);
      await read(r);
      res.end('ok');
    };
    const channel = channelOf();
    for (const verb of ['GET', 'POST']) {
      const source = new PassThrough();
      source.end();
      const res = await channel.invoke(req({ verb, headers: {}, contentType: '', body: source, length: 0 }));
      expect(Buffer.concat(await res.body.toArray()).toString()).toBe('ok');
      expect(source.readableEnded).toBe(true);
    }
    expect(seen[0]!['transfer-encoding']).toBeUndefined();
    expect(seen[0]!['content-length']).toBeUndefined();
    expect(seen[1]!['transfer-encoding']).toBeUndefined();
    expect(seen[1]!['content-length']).toBe('0');
    await channel.close();
  });

  it('non-ASCII and spaces in the method are percent-encoded; an empty content type sends none', async () => {
    let url = '';
    let ct: string | undefined;
    handler = (r, res) => {
      url = r.url!;
      ct = r.headers['content-type'];
      res.end();
    };
    const channel = channelOf();
    const res = await channel.invoke(req({ method: 'a b/é', query: '', contentType: '', verb: 'GET', body: Readable.from([]), length: 0 }));
    await res.body.toArray();
    expect([url, ct]).toEqual(['/a%20b/%C3%A9', undefined]);
    await channel.close();
  });

  it('streams: the app reads the first chunk before the caller sent the rest, and the caller reads the answer as it comes', async () => {
    const upload = new PassThrough();
    let firstChunk!: (s: string) => void;
    const gotFirst = new Promise<string>((r) => (firstChunk = r));
    let sendRest!: () => void;
    handler = (r, res) => {
      r.once('data', (c: Buffer) => firstChunk(c.toString()));
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('part1;');
      sendRest = () => res.end('part2');
      r.resume();
    };
    const channel = channelOf();
    const pending = channel.invoke(req({ body: upload, length: undefined }));
    upload.write('chunk-1');
    expect(await gotFirst).toBe('chunk-1');
    upload.end('chunk-2');
    const res = await pending;
    const it = res.body[Symbol.asyncIterator]();
    expect(String((await it.next()).value)).toBe('part1;');
    sendRest();
    expect(String((await it.next()).value)).toBe('part2');
    await channel.close();
  });

  it('holds its --app-max-concurrency slot until a streamed answer is read', async () => {
    let calls = 0;
    handler = (r, res) => {
      calls++;
      r.resume();
      res.write('x'.repeat(10)); // no Content-Length: chunked, so it streams
      res.end();
    };
    const channel = channelOf({ maxConcurrency: 1 });
    const first = await channel.invoke(req());
    const second = channel.invoke(req());
    await sleep(100);
    expect(calls).toBe(1); // the first answer is still unread
    await first.body.toArray();
    const res = await second;
    expect(calls).toBe(2);
    res.body.resume();
    await channel.close();
  });

  it('reads a small answer of known length whole, and frees its slot with it', async () => {
    let calls = 0;
    handler = (r, res) => {
      calls++;
      r.resume();
      res.setHeader('content-type', 'text/plain');
      res.end('y'.repeat(100));
    };
    const channel = channelOf({ maxConcurrency: 1 });
    const first = await channel.invoke(req());
    expect(first.whole?.toString()).toBe('y'.repeat(100));
    expect(first.contentType).toBe('text/plain');
    expect(first.headers['content-length']).toEqual(['100']);
    const second = await channel.invoke(req()); // the app is done with the first: no wait
    expect(calls).toBe(2);
    // The stream, made when asked for, carries the same bytes.
    expect(Buffer.concat(await second.body.toArray()).toString()).toBe('y'.repeat(100));
    await channel.close();
  });

  it('streams an answer over the whole-read limit, and a HEAD answer', async () => {
    handler = (r, res) => {
      r.resume();
      res.setHeader('content-length', String(64 * 1024 + 1));
      res.end(r.method === 'HEAD' ? undefined : 'z'.repeat(64 * 1024 + 1));
    };
    const channel = channelOf();
    const big = await channel.invoke(req());
    expect(big.whole).toBeUndefined();
    expect(Buffer.concat(await big.body.toArray()).length).toBe(64 * 1024 + 1);
    const head = await channel.invoke(req({ verb: 'HEAD' }));
    expect(head.whole).toBeUndefined();
    await channel.close();
  });

  it('an app that is not listening: rejects naming the request, as Go words it', async () => {
    const channel = new HttpAppChannel({ address: '127.0.0.1', port: 1, protocol: 'http', appId: 'app' });
    await expect(channel.invoke(req())).rejects.toThrow(/^PUT "http:\/\/127\.0\.0\.1:1\/orders\/42\?x=1&y=%20": connect ECONNREFUSED/);
    await expect(channel.invoke(req({ verb: 'CONNECT' }))).rejects.toThrow('invalid HTTP verb');
    await channel.close();
  });

  it('an aborted call stops waiting for the app', async () => {
    handler = () => undefined; // never answers
    const channel = channelOf();
    const ac = new AbortController();
    const p = channel.invoke(req(), ac.signal);
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toThrow(/aborted/i);
    server.closeAllConnections();
    await channel.close();
  });

  it('h2c apps get the same request over HTTP/2', async () => {
    const h2 = http2.createServer((r, res) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => res.writeHead(200, { 'x-proto': r.httpVersion }).end(`${r.method} ${r.url} ${Buffer.concat(chunks)}`));
    });
    await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
    const channel = new HttpAppChannel({ address: '127.0.0.1', port: (h2.address() as AddressInfo).port, protocol: 'h2c', appId: 'app' });
    const res = await channel.invoke(req());
    expect([res.status, res.headers['x-proto'], Buffer.concat(await res.body.toArray()).toString()]).toEqual([200, ['2.0'], 'PUT /orders/42?x=1&y=%20 {"n":1}']);
    await channel.close();
    await new Promise<void>((r) => h2.close(() => r()));
  });
});

describe('HttpAppChannel.probeHealth', () => {
  it('GETs the health check path: 2xx healthy, anything else or no answer unhealthy', async () => {
    let status = 200;
    const paths: string[] = [];
    handler = (r, res) => {
      paths.push(r.url!);
      res.writeHead(status).end();
    };
    const channel = channelOf({ healthCheckPath: 'ready' });
    const signal = () => AbortSignal.timeout(1000);
    expect(await channel.probeHealth(signal())).toBe(true);
    status = 503;
    expect(await channel.probeHealth(signal())).toBe(false);
    expect(paths).toEqual(['/ready', '/ready']);
    handler = () => undefined;
    expect(await channel.probeHealth(AbortSignal.timeout(50))).toBe(false);
    server.closeAllConnections();
    await channel.close();
    const down = new HttpAppChannel({ address: '127.0.0.1', port: 1, protocol: 'http', appId: 'app' });
    expect(await down.probeHealth(signal())).toBe(false);
    await down.close();
  });
});
