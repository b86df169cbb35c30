import { createServer, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { BindingInvokeError } from '../types';
import { HttpOutputBinding } from '.';
import { canonicalHeaderKey, goRequestError } from './go-text';

interface Seen {
  method?: string;
  url?: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A port nothing listens on (bound, then released). */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });

describe('bindings.http', () => {
  let server: Server;
  let base = '';
  let seen: Seen = { headers: {}, body: '' };
  const bindings: HttpOutputBinding[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen = { method: req.method, url: req.url, headers: req.headers, body };
        if (req.url?.startsWith('/status/')) res.statusCode = Number(req.url.slice(8));
        res.setHeader('x-multi', ['a', 'b']);
        res.end(req.url === '/big' ? 'x'.repeat(100) : `answer:${body}`);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await Promise.all(bindings.map((b) => b.close()));
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  async function binding(props: Record<string, string>): Promise<HttpOutputBinding> {
    const b = new HttpOutputBinding();
    await b.init({ name: 'web', type: 'bindings.http', version: 'v1', properties: props, appId: 'a', namespace: '' });
    bindings.push(b);
    return b;
  }

  it('sends the operation as the method, path appended, capitalised metadata as headers', async () => {
    const b = await binding({ url: `${base}/api/`, securityToken: 's3cret', securityTokenHeader: 'x-token' });
    const res = await b.invoke({ operation: 'create', data: Buffer.from('{"a":1}'), metadata: { path: '/items', 'X-Custom': 'yes', lower: 'no', traceparent: 'tp' } });
    expect(seen).toMatchObject({ method: 'POST', url: '/api/items', body: '{"a":1}' });
    expect(seen.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8', accept: 'application/json; charset=utf-8', 'x-custom': 'yes', 'x-token': 's3cret', traceparent: 'tp' });
    expect(seen.headers.lower).toBeUndefined();
    expect(res?.data.toString()).toBe('answer:{"a":1}');
    expect(res?.metadata).toMatchObject({ statusCode: '200', status: '200 OK', 'X-Multi': 'a, b', 'Content-Length': '14' });
    await b.invoke({ operation: 'get', data: Buffer.from('ignored'), metadata: {} });
    expect(seen).toMatchObject({ method: 'GET', url: '/api/', body: '' });
  });

  it('a status outside 2xx is an error carrying the response metadata, unless errorIfNot2XX is false', async () => {
    const b = await binding({ url: base });
    const e = await b.invoke({ operation: 'get', data: Buffer.alloc(0), metadata: { path: 'status/404' } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BindingInvokeError);
    expect((e as BindingInvokeError).message).toBe('received status code 404');
    expect((e as BindingInvokeError).response?.metadata).toMatchObject({ statusCode: '404', status: '404 Not Found' });
    const ok = await b.invoke({ operation: 'get', data: Buffer.alloc(0), metadata: { path: 'status/500', errorIfNot2XX: 'false' } });
    expect(ok?.metadata.statusCode).toBe('500');
  });

  it('reads at most maxResponseBodySize bytes', async () => {
    const b = await binding({ url: base, maxResponseBodySize: '10' });
    expect((await b.invoke({ operation: 'get', data: Buffer.alloc(0), metadata: { path: 'big' } }))?.data.toString()).toBe('x'.repeat(10));
  });

  it('words a refused connection as Go does', async () => {
    const port = await closedPort();
    const b = await binding({ url: `http://127.0.0.1:${port}` });
    await expect(b.invoke({ operation: 'post', data: Buffer.alloc(0), metadata: {} })).rejects.toThrow(
      `Post "http://127.0.0.1:${port}": dial tcp 127.0.0.1:${port}: connect: connection refused`,
    );
  });

  it('canonical header keys and request errors', () => {
    expect(canonicalHeaderKey('content-type')).toBe('Content-Type');
    expect(canonicalHeaderKey('X-CUSTOM-id')).toBe('X-Custom-Id');
    expect(canonicalHeaderKey('bad key')).toBe('bad key');
    expect(goRequestError('GET', 'http://x', Object.assign(new Error('aborted'), { name: 'AbortError' }))).toBe('Get "http://x": context deadline exceeded');
  });
});
