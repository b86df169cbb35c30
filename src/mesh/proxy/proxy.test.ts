// The proxy in-process against real loopback upstreams (node:http, node:http2, net): forwarding,
// local replies, retries, rewrites, filters, appId clusters, TCP and the forward proxy. The built
// binary's suites (compat-tests/mesh/) cover the same through the sidecar.
import { createServer as createHttp, type IncomingMessage, type Server } from 'node:http';
import { createServer as createH2, type Http2Server } from 'node:http2';
import { connect as netConnect, createServer as createNet, type Server as NetServer } from 'node:net';
import { Readable } from 'node:stream';
import pino from 'pino';
import { h2c, http1 } from '../../../test/http-clients';
import { FilterRegistry } from '../registry';
import type { Exchange } from '../filter';
import { createCluster } from './cluster';
import { meshProxySchema } from './config';
import { type MeshProxy, ProxyConfigError, startMeshProxy } from './index';
import type { AppInvoke } from './app-cluster';

const log = pino({ level: 'silent' });
const noPolicies = { timeouts: new Map(), retries: new Map(), circuitBreakers: new Map() };

function manifest(spec: Record<string, unknown>) {
  return meshProxySchema.parse({ apiVersion: 'layotto.io/v1', kind: 'MeshProxy', metadata: { name: 'test' }, spec });
}

const seen: Exchange[] = [];
const registry = new FilterRegistry();
registry.register('test.recorder', (cfg) => ({
  name: 'recorder',
  onRequest: (ex) => {
    if (cfg.block && ex.headers['x-block']) {
      ex.errorCode = 'BLOCKED';
      return { http: { status: 429, body: 'blocked' }, grpc: { code: 8, details: 'blocked' } };
    }
    ex.headers['x-filtered'] = 'yes';
    return undefined;
  },
  onResponse: (ex) => void seen.push(ex),
}));

async function start(spec: Record<string, unknown>, invokeApp?: AppInvoke): Promise<MeshProxy> {
  return startMeshProxy([manifest(spec)], { createCluster, policies: noPolicies, log, filters: { registry, context: { appId: 'me', log } }, invokeApp });
}

const listening = <T extends Server | Http2Server | NetServer>(s: T): Promise<T & { port: number }> =>
  new Promise((r) => s.listen(0, '127.0.0.1', () => r(Object.assign(s, { port: (s.address() as { port: number }).port }))));

/** Echoes the request as JSON: method, url, headers, body length, which server answered. */
function echo(name: string) {
  let connections = 0;
  const s = createHttp((req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive', 'x-upstream': name }).end(JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers, bytes: n, httpVersion: req.httpVersion })));
  });
  s.on('connection', () => connections++);
  return Object.assign(s, { connections: () => connections });
}

function h2echo() {
  const s = createH2();
  s.on('stream', (stream, headers) => {
    let n = 0;
    stream.on('data', (c: Buffer) => (n += c.length));
    stream.on('end', () => {
      if (headers['content-type'] === 'application/grpc') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-trailer': 'seen' }));
        stream.end(Buffer.from([0, 0, 0, 0, 0]));
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.end(JSON.stringify({ name: 'h2', path: headers[':path'], authority: headers[':authority'], bytes: n }));
    });
  });
  return s;
}

async function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET', body?: string) {
  const r = await http1(port, path, { method, headers, body });
  return { status: r.status, headers: r.headers as IncomingMessage['headers'], body: r.text };
}
const h2get = h2c;

const closers: (() => unknown)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
  seen.length = 0;
});
async function up<T extends Server | Http2Server | NetServer>(s: T): Promise<T & { port: number }> {
  const l = await listening(s);
  closers.push(() => new Promise((r) => { (s as Server).closeAllConnections?.(); s.close(r); }));
  return l;
}
async function proxy(spec: Record<string, unknown>, invokeApp?: AppInvoke): Promise<MeshProxy> {
  const p = await start(spec, invokeApp);
  closers.push(() => p.stop(0));
  return p;
}

describe('mesh proxy (in-process)', () => {
  it('routes HTTP/1.1 by host, adds forwarding headers, strips hop-by-hop ones, keeps connections', async () => {
    const a = await up(echo('a'));
    const b = await up(echo('b'));
    const p = await proxy({
      listeners: [{ name: 'edge', address: 0, routes: [{ match: { host: 'a.local' }, cluster: 'a' }, { match: { host: '*.b.local' }, cluster: 'b' }] }],
      clusters: [{ name: 'a', endpoints: [`127.0.0.1:${a.port}`] }, { name: 'b', endpoints: [`127.0.0.1:${b.port}`] }],
    });
    const port = p.ports.edge!;
    const r1 = await get(port, '/x?q=1', { host: 'a.local:9999', 'x-forwarded-for': '10.0.0.1', 'proxy-connection': 'x', 'x-keep': '1' });
    expect(r1.status).toBe(200);
    const e1 = JSON.parse(r1.body);
    expect(e1).toMatchObject({ name: 'a', url: '/x?q=1', headers: { host: 'a.local:9999', 'x-forwarded-for': '10.0.0.1, 127.0.0.1', 'x-forwarded-proto': 'http', 'x-keep': '1' } });
    expect(e1.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(e1.headers['proxy-connection']).toBeUndefined();
    expect(r1.headers['x-upstream']).toBe('a');
    expect(JSON.parse((await get(port, '/', { host: 'x.b.local' })).body).name).toBe('b');
    for (let i = 0; i < 20; i++) await get(port, '/', { host: 'a.local' });
    expect(a.connections()).toBe(1);
    const nr = await get(port, '/', { host: 'nowhere' });
    expect([nr.status, nr.body]).toEqual([404, 'no route']);
    expect(p.snapshot().listeners[0]).toMatchObject({ name: 'edge', protocol: 'http', routes: [{ name: 'edge/0', cluster: 'a', match: { host: ['a.local'] } }, { name: 'edge/1', cluster: 'b' }], stats: { noRoute: 1 } });
  });

  it('forwards h2c as h2c (auto) with a body, and gRPC with its trailers; no route answers UNIMPLEMENTED', async () => {
    const u = await up(createH2Server());
    const p = await proxy({
      listeners: [{ name: 'edge', address: 0, routes: [{ match: { grpc: { service: 'pkg.Svc' } }, cluster: 'u' }, { match: { pathPrefix: '/h2' }, cluster: 'u' }, { match: { host: 'h1.local' }, cluster: 'u2' }] }],
      clusters: [{ name: 'u', endpoints: [`127.0.0.1:${u.port}`] }, { name: 'u2', protocol: 'h2c', endpoints: [`127.0.0.1:${u.port}`] }],
    });
    const port = p.ports.edge!;
    const r = await h2get(port, { ':path': '/h2/x', ':authority': 'svc' }, Buffer.alloc(100_000, 1));
    expect(r.headers[':status']).toBe(200);
    expect(JSON.parse(r.body.toString())).toEqual({ name: 'h2', path: '/h2/x', authority: 'svc', bytes: 100_000 });
    const g = await h2get(port, { ':method': 'POST', ':path': '/pkg.Svc/Do', 'content-type': 'application/grpc', te: 'trailers' }, Buffer.from([0, 0, 0, 0, 0]));
    expect(g.trailers).toMatchObject({ 'grpc-status': '0', 'x-trailer': 'seen' });
    const nr = await h2get(port, { ':method': 'POST', ':path': '/pkg.Other/Do', 'content-type': 'application/grpc' }, Buffer.from([0, 0, 0, 0, 0]));
    expect(nr.headers).toMatchObject({ ':status': 200, 'grpc-status': '12' });
    // HTTP/1.1 on the same port, to an h2c-only upstream (protocol h2c; 'auto' would speak HTTP/1.1 to it).
    expect(JSON.parse((await get(port, '/y', { host: 'h1.local' })).body)).toMatchObject({ path: '/y', authority: 'h1.local' });
    expect((await get(port, '/h2/y')).status).toBe(503);
  });

  it('answers Envoy local replies: no healthy upstream, connect failure, timeout', async () => {
    const dead = await listening(createNet());
    const deadPort = dead.port;
    await new Promise((r) => dead.close(r));
    const slow = await up(createHttp(() => undefined));
    const p = await proxy({
      listeners: [{ name: 'edge', address: 0, routes: [{ match: { path: '/dead' }, cluster: 'dead' }, { match: { path: '/slow' }, cluster: 'slow', timeout: '100ms' }] }],
      clusters: [{ name: 'dead', endpoints: [`127.0.0.1:${deadPort}`] }, { name: 'slow', endpoints: [`127.0.0.1:${slow.port}`] }],
    });
    const d = await get(p.ports.edge!, '/dead');
    expect(d.status).toBe(503);
    expect(d.body).toMatch(/^upstream connect error or disconnect\/reset before headers\. reset reason: connection failure/);
    const s = await get(p.ports.edge!, '/slow');
    expect([s.status, s.body]).toEqual([504, 'upstream request timeout']);
  });

  it('retries a small body on another endpoint when one refuses; rewrites prefix, host and headers', async () => {
    const dead = await listening(createNet());
    const deadPort = dead.port;
    await new Promise((r) => dead.close(r));
    const a = await up(echo('a'));
    const p = await proxy({
      listeners: [{ name: 'edge', address: 0, routes: [{ match: { pathPrefix: '/api/' }, cluster: 'c', prefixRewrite: '/v2/', hostRewrite: 'backend', requestHeaders: { 'x-added': 'on' }, retries: { attempts: 2, retryOn: ['connect-failure'] } }] }],
      clusters: [{ name: 'c', endpoints: [`127.0.0.1:${deadPort}`, `127.0.0.1:${a.port}`] }],
    });
    for (let i = 0; i < 4; i++) {
      const r = await get(p.ports.edge!, '/api/items?x=1', { 'content-type': 'text/plain' }, 'POST', 'hello');
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toMatchObject({ url: '/v2/items?x=1', bytes: 5, headers: { host: 'backend', 'x-added': 'on' } });
    }
    expect(p.snapshot().clusters[0]!.stats.retries).toBeGreaterThan(0);
  });

  it('runs the listener filters with a routed exchange: header added, local reply, outcome recorded', async () => {
    const a = await up(echo('a'));
    const p = await proxy({
      listeners: [{ name: 'edge', address: 0, filters: [{ type: 'test.recorder', config: { block: true } }], routes: [{ name: 'r', match: { host: 'a' }, cluster: 'a' }] }],
      clusters: [{ name: 'a', endpoints: [`127.0.0.1:${a.port}`] }],
    });
    const r = await get(p.ports.edge!, '/p', { host: 'a' }, 'POST', 'abc');
    expect(JSON.parse(r.body).headers['x-filtered']).toBe('yes');
    expect((await get(p.ports.edge!, '/p', { host: 'a', 'x-block': '1' })).status).toBe(429);
    expect((await get(p.ports.edge!, '/p', { host: 'zzz' })).status).toBe(404);
    await new Promise((res) => setTimeout(res, 20));
    expect(seen.map((e) => [e.route, e.status, e.errorCode, e.proxy?.cluster, e.proxy?.upstream, e.proxy?.upstreamStatus, e.requestBytes])).toEqual([
      ['r', 200, undefined, 'a', `127.0.0.1:${a.port}`, 200, 3],
      ['r', 429, 'BLOCKED', 'a', undefined, undefined, 0],
      ['', 404, 'NO_ROUTE', undefined, undefined, undefined, 0],
    ]);
    expect(seen[0]!.responseBytes).toBe(r.body.length);
  });

  it('forwards appId clusters through the injected service invocation', async () => {
    const calls: unknown[] = [];
    const invoke: AppInvoke = async (req) => {
      calls.push({ appId: req.appId, method: req.method, verb: req.verb, query: req.query, body: Buffer.concat(await req.body.toArray()).toString() });
      return { status: 201, headers: { 'x-from': ['app'] }, contentType: 'text/plain', body: Readable.from([Buffer.from('made')]) };
    };
    const p = await proxy({ listeners: [{ name: 'edge', address: 0, cluster: 'orders' }], clusters: [{ name: 'orders', appId: 'orders-app' }] }, invoke);
    const r = await get(p.ports.edge!, '/v1/orders?id=3', {}, 'PUT', 'x');
    expect([r.status, r.body, r.headers['x-from'], r.headers['content-type']]).toEqual([201, 'made', 'app', 'text/plain']);
    expect(calls).toEqual([{ appId: 'orders-app', method: 'v1/orders', verb: 'PUT', query: 'id=3', body: 'x' }]);
    expect(p.snapshot().clusters[0]).toMatchObject({ name: 'orders', appId: 'orders-app', endpoints: [], stats: { requests: 1 } });
  });

  it('tunnels TCP to the next endpoint when one refuses, and counts bytes', async () => {
    const dead = await listening(createNet());
    const deadPort = dead.port;
    await new Promise((r) => dead.close(r));
    const echoTcp = await up(createNet((s) => s.pipe(s)));
    const p = await proxy({ listeners: [{ name: 't', address: 0, protocol: 'tcp', cluster: 'e' }], clusters: [{ name: 'e', endpoints: [`127.0.0.1:${deadPort}`, `127.0.0.1:${echoTcp.port}`] }] });
    for (let i = 0; i < 2; i++) {
      const got = await new Promise<string>((resolve, reject) => {
        const s = netConnect(p.ports.t!, '127.0.0.1', () => s.end('ping'));
        let d = '';
        s.on('data', (c) => (d += c));
        s.on('close', () => resolve(d));
        s.on('error', reject);
      });
      expect(got).toBe('ping');
    }
    await new Promise((r) => setTimeout(r, 20));
    expect(p.snapshot().listeners[0]!.stats).toMatchObject({ connections: 2, active: 0, bytesSent: 8, bytesReceived: 8 });
  });

  it('acts as a forward proxy: absolute-form targets and CONNECT to routed hosts only', async () => {
    const a = await up(echo('a'));
    const p = await proxy({
      listeners: [{ name: 'fp', address: 0, forwardProxy: true, routes: [{ match: { host: 'svc.local' }, cluster: 'a' }] }],
      clusters: [{ name: 'a', endpoints: [`127.0.0.1:${a.port}`] }],
    });
    const r = await get(p.ports.fp!, 'http://svc.local:8080/abs?x=1');
    expect(JSON.parse(r.body)).toMatchObject({ url: '/abs?x=1', headers: { host: 'svc.local:8080' } });
    expect((await get(p.ports.fp!, 'http://evil.example/')).status).toBe(403);
    const raw = (target: string, then: string) =>
      new Promise<string>((resolve) => {
        const s = netConnect(p.ports.fp!, '127.0.0.1', () => s.write(`CONNECT ${target} HTTP/1.1\r\nhost: ${target}\r\n\r\n`));
        let d = '';
        let sent = false;
        s.on('data', (c) => {
          d += c;
          if (!sent && d.includes('\r\n\r\n') && d.startsWith('HTTP/1.1 200')) {
            sent = true;
            s.write(then);
          }
          if (d.includes('"name":"a"')) s.end();
        });
        s.on('close', () => resolve(d));
      });
    const ok = await raw('svc.local:443', 'GET /tunnelled HTTP/1.1\r\nhost: svc.local\r\nconnection: close\r\n\r\n');
    expect(ok).toMatch(/^HTTP\/1.1 200 Connection Established/);
    expect(ok).toContain('"url":"/tunnelled"');
    expect(await raw('evil.example:443', '')).toMatch(/^HTTP\/1.1 403/);
  });

  it('names the field of a configuration error', async () => {
    const fail = (spec: Record<string, unknown>) => start(spec).then(() => undefined, (e: unknown) => e as ProxyConfigError);
    const e1 = await fail({ listeners: [{ name: 'l', address: 0, routes: [{ cluster: 'nope' }] }], clusters: [] });
    expect([e1?.path, e1?.message]).toEqual([['spec', 'listeners', 0, 'routes', 0, 'cluster'], 'no cluster named "nope" (clusters: none)']);
    const e2 = await fail({ listeners: [{ name: 'l', address: 0, filters: [{ type: 'proxy.nope' }] }], clusters: [] });
    expect(e2?.path).toEqual(['spec', 'listeners', 0, 'filters', 0, 'type']);
    expect(e2?.message).toMatch(/unknown filter type "proxy.nope"/);
    const e3 = await fail({ listeners: [], clusters: [{ name: 'c', endpoints: ['1'] }, { name: 'c', endpoints: ['2'] }] });
    expect(e3?.path).toEqual(['spec', 'clusters', 1, 'name']);
  });
});

function createH2Server() {
  return h2echo();
}
