import type { FastifyInstance } from 'fastify';
import { connect } from 'node:net';
import { InMemoryStateStore } from '../../components/state/in-memory';
import { ComponentStore } from '../../components/store';
import { type Core, createCore } from '../../core';
import { buildDaprHttpServer } from './server';

// Real HTTP over a socket (fastify.inject's light-my-request loads an ESM-only dependency that
// jest cannot require on Node 20).
async function request(app: FastifyInstance, url: string, init: RequestInit = {}) {
  if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const r = await fetch(`http://127.0.0.1:${port}${url}`, init);
  const body = await r.text();
  return { status: r.status, headers: r.headers, body, json: () => JSON.parse(body) };
}

const NO_APP_ID = { errorCode: 'ERR_DIRECT_INVOKE', message: 'failed getting app id either from the URL path or the header dapr-app-id' };

describe('Dapr HTTP server: health, metadata, shutdown, fallback, server-wide rules', () => {
  let core: Core;
  let app: FastifyInstance;
  const call = (url: string, init?: RequestInit) => request(app, url, init);

  beforeEach(async () => {
    const components = new ComponentStore();
    const meta = { name: 'statestore', type: 'state.in-memory', version: 'v1', properties: {}, appId: 'app1', namespace: '' };
    const instance = new InMemoryStateStore();
    await instance.init(meta);
    components.add({ kind: 'state', name: 'statestore', meta, instance, capabilities: ['ETAG', 'TRANSACTIONAL', 'TTL'] });
    core = createCore({ components, appId: 'app1', namespace: '', runtimeVersion: '1.2.3' }, { port: 3000, protocol: 'http', channelAddress: '127.0.0.1' });
    app = buildDaprHttpServer(core, { maxBodySize: 1024 });
  });
  afterEach(() => app.close());

  it('healthz: 500 until ready, then 204; ?appid must match', async () => {
    let r = await call('/v1.0/healthz');
    expect(r.status).toBe(500);
    expect(r.json()).toEqual({ errorCode: 'ERR_HEALTH_NOT_READY', message: 'dapr is not ready' });
    core.metadata.setReady(true);
    r = await call('/v1.0/healthz');
    expect(r.status).toBe(204);
    expect(r.body).toBe('');
    expect((await call('/v1.0/healthz?appid=app1')).status).toBe(204);
    r = await call('/v1.0/healthz?appid=other');
    expect(r.status).toBe(500);
    expect(r.json()).toEqual({ errorCode: 'ERR_HEALTH_APPID_NOT_MATCH', message: 'dapr app-id does not match' });
  });

  it('healthz/outbound: 500 until outbound ready, then 204', async () => {
    const r = await call('/v1.0/healthz/outbound');
    expect(r.status).toBe(500);
    expect(r.json().errorCode).toBe('ERR_OUTBOUND_HEALTH_NOT_READY');
    core.metadata.setOutboundReady(true);
    expect((await call('/v1.0/healthz/outbound')).status).toBe(204);
  });

  it('GET metadata has daprd field names and omits empty fields', async () => {
    const r = await call('/v1.0/metadata');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.json()).toEqual({
      id: 'app1',
      runtimeVersion: '1.2.3',
      components: [{ name: 'statestore', type: 'state.in-memory', version: 'v1', capabilities: ['ETAG', 'TRANSACTIONAL', 'TTL'] }],
      extended: { daprRuntimeVersion: '1.2.3' },
      appConnectionProperties: { port: 3000, protocol: 'http', channelAddress: '127.0.0.1' },
      actorRuntime: { runtimeStatus: 'DISABLED', hostReady: false },
    });
  });

  it('PUT metadata/{key} stores the raw body, whatever its content type', async () => {
    expect((await call('/v1.0/metadata/testKey', { method: 'PUT', body: 'hello world' })).status).toBe(204);
    const json = await call('/v1.0/metadata/jsonKey', { method: 'PUT', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    expect(json.status).toBe(204);
    expect((await call('/v1.0/metadata/empty', { method: 'PUT' })).status).toBe(204);
    expect((await call('/v1.0/metadata')).json().extended).toEqual({ daprRuntimeVersion: '1.2.3', testKey: 'hello world', jsonKey: '{"a":1}', empty: '' });
  });

  it('POST shutdown answers 204, then starts shutdown', async () => {
    const stopped = new Promise<void>((resolve) => core.metadata.onShutdown(resolve));
    const r = await call('/v1.0/shutdown', { method: 'POST' });
    expect(r.status).toBe(204);
    await stopped;
  });

  it.each([
    ['GET', '/nothing/here'],
    ['GET', '/v1.0/unknown'],
    ['PATCH', '/v1.0/state/statestore'], // wrong verb
    ['GET', '/v1.0/state/statestore'],
    ['POST', '/v1.0/state/statestore/key'],
    ['HEAD', '/v1.0/state/statestore/key'],
    ['DELETE', '/v1.0/metadata'],
    ['POST', '/v1.0/invoke//method/do/it'],
  ])('%s %s falls back to service invocation (404 ERR_DIRECT_INVOKE)', async (method, url) => {
    const r = await call(url, { method });
    expect(r.status).toBe(404);
    if (method !== 'HEAD') expect(r.json()).toEqual(NO_APP_ID);
  });

  it.each<[string, string, Record<string, string>?]>([
    ['POST', '/v1.0/invoke/other-app/method/do/it'],
    ['GET', '/v1.0/invoke/other-app/method/x?y=1'],
    ['PATCH', '/v1.0/state/statestore', { 'dapr-app-id': 'other-app' }],
  ])('%s %s invokes the app (no way to reach other-app here: 500 ERR_DIRECT_INVOKE)', async (method, url, headers = {}) => {
    const r = await call(url, { method, headers });
    expect(r.status).toBe(500);
    expect(r.json()).toEqual({ errorCode: 'ERR_DIRECT_INVOKE', message: "failed to invoke, id: other-app, err: couldn't find service: other-app" });
  });

  it('tolerates trailing and double slashes on every route', async () => {
    core.metadata.setReady(true);
    expect((await call('/v1.0/healthz/')).status).toBe(204);
    expect((await call('//v1.0//healthz')).status).toBe(204);
    expect((await call('/v1.0/metadata/')).status).toBe(200);
  });

  it('answers a body over maxBodySize with 413 ERR_BODY_READ', async () => {
    const r = await call('/v1.0/state/statestore', { method: 'POST', body: JSON.stringify([{ key: 'k', value: 'x'.repeat(2000) }]) });
    expect(r.status).toBe(413);
    expect(r.json()).toEqual({ errorCode: 'ERR_BODY_READ', message: 'request body too large: limit is 1024 bytes' });
  });

  it('turns fastify errors into Dapr errors (bad percent-encoding)', async () => {
    const r = await call('/v1.0/state/statestore/%E0%A4%A');
    expect(r.status).toBe(400);
    expect(r.json().errorCode).toBe('ERR_BAD_REQUEST');
    expect(r.body).not.toMatch(/FST_/);
  });

  it("answers what node's parser refuses as Go's net/http does: plain text, connection closed", async () => {
    await call('/v1.0/healthz');
    const { port } = app.server.address() as { port: number };
    const raw = (bytes: string) =>
      new Promise<string>((resolve) => {
        let out = '';
        const s = connect(port, '127.0.0.1', () => s.write(bytes));
        s.on('data', (d) => (out += d));
        s.on('close', () => resolve(out));
      });
    // A control character in a header value, and headers past node's limit.
    expect(await raw('GET /v1.0/healthz HTTP/1.1\r\nhost: x\r\nx-a: a\rb\r\n\r\n')).toBe('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request');
    expect(await raw(`GET /v1.0/healthz HTTP/1.1\r\nhost: x\r\nx-a: ${'a'.repeat(20000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n[^]*\r\n\r\n431 Request Header Fields Too Large$/);
  });

  it('turns an unexpected exception into 500 {"errorCode":"ERROR"} without a stack', async () => {
    core.metadata.get = () => {
      throw new TypeError('boom');
    };
    const r = await call('/v1.0/metadata');
    expect(r.status).toBe(500);
    expect(r.json()).toEqual({ errorCode: 'ERROR', message: 'boom' });
  });
});
