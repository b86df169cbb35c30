// The Dapr HTTP invocation face over a real socket, with the core's app channel replaced by a
// recording invoker: how the target and method are found (daprd's findTargetIDAndMethod), what
// reaches the core, the answer passed back, body streaming and --max-body-size.
import type { FastifyInstance } from 'fastify';
import { request as httpRequest } from 'node:http';
import { PassThrough, Readable } from 'node:stream';
import { ComponentStore } from '../../components/store';
import { type Core, createCore } from '../../core';
import type { InvokeRequest, InvokeResponse } from '../../core/invoke/types';
import { until } from '../../../test/wait';
import { findTarget } from './invoke-target';
import { buildDaprHttpServer } from './server';

describe('findTarget', () => {
  it.each([
    ['/v1.0/invoke/orders/method/a/b%20c', {}, { appId: 'orders', method: 'a/b%20c' }],
    ['//v1.0//invoke/orders/method/x', {}, { appId: 'orders', method: 'x' }],
    ['/v1.0/invoke/http%3A%2F%2Fhost%3A8080/method/x', {}, { appId: 'http://host:8080', method: 'x' }],
    ['/v1.0/invoke/http://host:8080/method/x/y', {}, { appId: 'http://host:8080', method: 'x/y' }],
    ['/v1.0/invoke/orders.prod/method/', {}, { appId: 'orders.prod', method: '' }],
    ['/any//path/../here/', { 'dapr-app-id': 'orders' }, { appId: 'orders', method: 'any/here/' }],
    ['/v1.0/invoke/a/method/b', { 'dapr-app-id': 'h' }, { appId: 'h', method: 'v1.0/invoke/a/method/b' }],
    ['/p', { authorization: `Basic ${Buffer.from('dapr-app-id:orders').toString('base64')}` }, { appId: 'orders', method: 'p' }],
  ])('%s %j → %j', (path, headers, want) => {
    expect(findTarget(path, headers)).toEqual(want);
  });

  it.each([['/v1.0/invoke/orders'], ['/v1.0/invoke//method/x'], ['/v1.0/state/x'], ['/nothing']])('%s has no target', (path) => {
    expect(findTarget(path, { authorization: `Basic ${Buffer.from('user:pw').toString('base64')}` })).toBeUndefined();
  });
});

interface Call {
  req: InvokeRequest;
  signal?: AbortSignal;
}

describe('Dapr HTTP invocation face', () => {
  let core: Core;
  let app: FastifyInstance;
  let base: string;
  let calls: Call[];
  let respond: (c: Call) => Promise<InvokeResponse>;

  const answer = (status: number, body: string, headers: Record<string, string[]> = {}): InvokeResponse => ({ status, headers, contentType: 'text/plain', body: Readable.from([Buffer.from(body)]) });

  beforeEach(async () => {
    calls = [];
    respond = async (c) => answer(200, `got ${Buffer.concat(await c.req.body.toArray()).length} bytes`);
    core = createCore({ components: new ComponentStore(), appId: 'me', namespace: '', runtimeVersion: 't' }, { protocol: 'http', channelAddress: '127.0.0.1' });
    core.invoke.setAppChannel({
      invoke: (req, signal) => {
        const c = { req, signal };
        calls.push(c);
        return respond(c);
      },
    });
    app = buildDaprHttpServer(core, { maxBodySize: 1000 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  afterEach(async () => {
    // fetch leaves a connection open after an abort; nothing of the server's own.
    app.server.closeAllConnections();
    await app.close();
  });

  it('passes verb, raw method, query, headers and content type to the core; status, headers and body come back', async () => {
    respond = async () => answer(207, 'multi', { 'x-app': ['1'], 'set-cookie': ['a=1', 'b=2'] });
    const r = await fetch(`${base}/v1.0/invoke/me/method/orders/a%2Fb?x=1&y=2`, { method: 'PATCH', headers: { 'content-type': 'application/json', 'x-c': 'v' }, body: '{}' });
    expect(r.status).toBe(207);
    expect(r.headers.get('x-app')).toBe('1');
    expect(r.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(r.headers.get('content-type')).toBe('text/plain');
    expect(await r.text()).toBe('multi');
    const { req } = calls[0]!;
    expect([req.appId, req.method, req.verb, req.query, req.contentType, req.length]).toEqual(['me', 'orders/a%2Fb', 'PATCH', 'x=1&y=2', 'application/json', 2]);
    expect(req.headers['x-c']).toEqual(['v']);
    expect(req.headers['dapr-caller-app-id']).toEqual(['me']);
  });

  it('dapr-app-id on any path and on a known route with a wrong verb; HEAD and TRACE reach the app', async () => {
    await (await fetch(`${base}/orders/1`, { headers: { 'dapr-app-id': 'me' } })).text();
    await (await fetch(`${base}/v1.0/state/x`, { method: 'PATCH', headers: { 'dapr-app-id': 'me' } })).text();
    const head = await fetch(`${base}/v1.0/invoke/me/method/h`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
    expect(calls.map((c) => [c.req.verb, c.req.method])).toEqual([
      ['GET', 'orders/1'],
      ['PATCH', 'v1.0/state/x'],
      ['HEAD', 'h'],
    ]);
    expect(calls[0]!.req.headers['dapr-app-id']).toBeUndefined();
  });

  it('a route that hands its request on to invocation (publish without a topic) sends the body it already read', async () => {
    const r = await fetch(`${base}/v1.0-alpha1/publish/bulk/ps`, { method: 'POST', headers: { 'dapr-app-id': 'me' }, body: '[1,2]', signal: AbortSignal.timeout(5000) });
    expect([r.status, await r.text()]).toEqual([200, 'got 5 bytes']);
    expect(calls.map((c) => [c.req.verb, c.req.method, c.req.length])).toEqual([['POST', 'v1.0-alpha1/publish/bulk/ps', 5]]);
  });

  it('no app id: 404 ERR_DIRECT_INVOKE; a failing target: 500 ERR_DIRECT_INVOKE', async () => {
    let r = await fetch(`${base}/v1.0/invoke/method/x`);
    expect([r.status, await r.json()]).toEqual([404, { errorCode: 'ERR_DIRECT_INVOKE', message: 'failed getting app id either from the URL path or the header dapr-app-id' }]);
    respond = () => Promise.reject(new Error('connect ECONNREFUSED'));
    r = await fetch(`${base}/v1.0/invoke/me/method/x`);
    expect([r.status, await r.json()]).toEqual([500, { errorCode: 'ERR_DIRECT_INVOKE', message: 'failed to invoke, id: me, err: connect ECONNREFUSED' }]);
  });

  it('streams the request body: the target reads the first chunk before the caller sent the rest', async () => {
    let first!: (s: string) => void;
    const gotFirst = new Promise<string>((r) => (first = r));
    respond = async (c) => {
      const it = c.req.body[Symbol.asyncIterator]();
      first(String((await it.next()).value));
      let rest = '';
      for (let n = await it.next(); !n.done; n = await it.next()) rest += String(n.value);
      return answer(200, rest);
    };
    const upload = new PassThrough();
    const res = new Promise<string>((resolve, reject) => {
      const r = httpRequest(`${base}/v1.0/invoke/me/method/up`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (m) => {
        let s = '';
        m.on('data', (c) => (s += c));
        m.on('end', () => resolve(s));
      });
      r.on('error', reject);
      upload.pipe(r);
    });
    upload.write('one;');
    expect(await gotFirst).toBe('one;');
    upload.end('two');
    expect(await res).toBe('two');
    expect(calls[0]!.req.length).toBeUndefined();
  });

  it('--max-body-size: a declared length over it is refused before any call; a chunked body over it is cut off with 413', async () => {
    let r = await fetch(`${base}/v1.0/invoke/me/method/x`, { method: 'POST', body: 'x'.repeat(1001) });
    expect([r.status, ((await r.json()) as { errorCode: string }).errorCode]).toEqual([413, 'ERR_BODY_READ']);
    expect(calls).toHaveLength(0);
    const chunked = Readable.from(['x'.repeat(600), 'y'.repeat(600)]);
    r = await fetch(`${base}/v1.0/invoke/me/method/x`, { method: 'POST', body: Readable.toWeb(chunked) as ReadableStream, duplex: 'half' } as RequestInit);
    expect([r.status, await r.json()]).toEqual([413, { errorCode: 'ERR_BODY_READ', message: 'request body too large: limit is 1000 bytes' }]);
    r = await fetch(`${base}/v1.0/invoke/me/method/x`, { method: 'POST', body: 'x'.repeat(1000) });
    expect(await r.text()).toBe('got 1000 bytes');
  });

  it('a caller that hangs up aborts the call to the target', async () => {
    respond = (c) => new Promise((_, reject) => c.signal!.addEventListener('abort', () => reject(new Error('aborted'))));
    const ac = new AbortController();
    const p = fetch(`${base}/v1.0/invoke/me/method/slow`, { signal: ac.signal }).catch(() => undefined);
    await until(() => calls.length === 1, () => 'the call');
    ac.abort();
    await p;
    await until(() => calls[0]!.signal!.aborted, () => 'abort reaching the target');
  });
});
