// Layotto's InvokeService through the real `layotto` Node SDK (Client.invoker.invoke) against the
// built sidecar, which calls its own HTTP app (a plain node:http app that records what reached
// it): Layotto's verb default (GET), the `id` header, request metadata as headers, the answer's
// content type as the SDK decodes it, non-200 answers as UNAVAILABLE, rpc_request_timeout.
import * as grpc from '@grpc/grpc-js';
import { PlainApp } from '../helpers/invoke';
import { type Sidecar, startSidecar } from '../helpers/sidecar';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Client, RuntimeTypes } = require('layotto') as typeof import('layotto');
const Verb = RuntimeTypes.HTTPExtension.Verb;

describe('Layotto SDK InvokeService: Client → sidecar → its own HTTP app', () => {
  const APP = 'compat-invoke-layotto';
  const app = new PlainApp();
  let sc: Sidecar;
  let client: InstanceType<typeof Client>;

  beforeAll(async () => {
    await app.start();
    sc = await startSidecar({ appId: APP, args: ['--app-port', String(app.port)] });
    client = new Client(String(sc.layottoPort), '127.0.0.1');
  });
  afterAll(async () => {
    client?.close?.();
    await sc?.stop();
    await app.stop();
  });
  beforeEach(() => {
    app.script = new PlainApp().script;
  });

  it('GET by default: the method is the path, `id` names the target, request metadata become headers; JSON comes back decoded', async () => {
    app.script = (s, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: s.url, method: s.method }));
    const res = await client.invoker.invoke({ id: APP, method: 'hello/world', requestMeta: { 'x-trace-me': 'yes' } });
    expect(res).toEqual({ contentType: 'application/json', content: { path: '/hello/world', method: 'GET' } });
    expect(app.last().headers).toMatchObject({ id: APP, 'x-trace-me': 'yes' });
  });

  it('POST with a JSON object and a text body: verb, content type and bytes reach the app; text comes back as text', async () => {
    app.script = (s, res) => res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(`${s.method} ${s.headers['content-type']} ${s.text}`);
    expect(await client.invoker.invoke({ id: APP, method: 'echo', httpVerb: Verb.POST, data: { a: 1 } })).toEqual({ contentType: 'text/plain', content: 'POST application/json {"a":1}' });
    expect(await client.invoker.invoke({ id: APP, method: 'echo', httpVerb: Verb.PUT, data: 'plain words' })).toEqual({ contentType: 'text/plain', content: 'PUT text/plain; charset=UTF-8 plain words' });
  });

  it('any answer but 200 fails with UNAVAILABLE "http response code <n>, body: <body>"', async () => {
    app.script = (_s, res) => res.writeHead(404).end('no route');
    const e = (await client.invoker.invoke({ id: APP, method: 'missing' }).catch((x: unknown) => x)) as grpc.ServiceError;
    expect([e.code, e.details]).toEqual([grpc.status.UNAVAILABLE, 'http response code 404, body: no route']);
  });

  it('rpc_request_timeout (ms) bounds the call: DEADLINE_EXCEEDED, no hang', async () => {
    app.script = () => undefined; // never answers
    const t0 = Date.now();
    const e = (await client.invoker.invoke({ id: APP, method: 'slow', requestMeta: { rpc_request_timeout: '300' } }).catch((x: unknown) => x)) as grpc.ServiceError;
    expect(e.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('an id no sidecar serves: UNAVAILABLE with the reason', async () => {
    const e = (await client.invoker.invoke({ id: 'nobody', method: 'x' }).catch((x: unknown) => x)) as grpc.ServiceError;
    expect(e.code).toBe(grpc.status.UNAVAILABLE);
    expect(e.details).toBeTruthy();
  });
});
