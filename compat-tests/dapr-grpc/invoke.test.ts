// Service invocation through the Dapr gRPC API (InvokeService) of the built sidecar, calling its
// own app: a real @dapr/dapr DaprServer gRPC app (AppCallback.OnInvoke) reached by DaprClients over
// gRPC and HTTP, then a plain grpc-js client against a plain HTTP app for what the SDK hides:
// daprd's dapr-http-status header, non-2xx answers as gRPC errors, query strings and metadata.
import { HttpMethod } from '@dapr/dapr';
import * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { daprClientConstructor } from '../../src/api/dapr-grpc/protos';
import { MAX_BODY_ARGS, PlainApp, type Protocol, type SdkApp, SdkClients, sha256, startSdkApp } from '../helpers/invoke';
import { type Sidecar, startSidecar } from '../helpers/sidecar';

type Json = Record<string, unknown>;

describe('Dapr gRPC invocation via @dapr/dapr: DaprServer gRPC app, DaprClient over gRPC and HTTP', () => {
  const APP = 'compat-invoke-grpc-sdk';
  let app: SdkApp;
  const got: { body: string; query: unknown; contentType: unknown }[] = [];
  const clients = new SdkClients(() => app.sc);
  const clientOf = (protocol: Protocol) => clients.of(protocol);

  beforeAll(async () => {
    app = await startSdkApp('grpc', APP, async (server) => {
      await server.invoker.listen('hello', async () => ({ hello: 'grpc' }), { method: HttpMethod.GET });
      for (const method of [HttpMethod.POST, HttpMethod.PUT, HttpMethod.DELETE]) {
        await server.invoker.listen(
          'echo',
          async (d) => {
            got.push({ body: d.body ?? '', query: d.query, contentType: d.metadata?.contentType });
            return { method, received: JSON.parse(d.body || 'null') as unknown };
          },
          { method },
        );
      }
      await server.invoker.listen('big', async (d) => ({ length: (d.body ?? '').length, sha256: sha256(d.body ?? '') }), { method: HttpMethod.POST });
    });
  });
  afterAll(async () => {
    await clients.stopAll();
    await app?.stop();
  });

  for (const protocol of ['grpc', 'http'] as const) {
    describe(`DaprClient over ${protocol}`, () => {
      it('GET hello: OnInvoke gets verb GET and the handler answers', async () => {
        expect(await clientOf(protocol).invoker.invoke(APP, 'hello', HttpMethod.GET)).toEqual({ hello: 'grpc' });
      });

      it.each([HttpMethod.POST, HttpMethod.PUT, HttpMethod.DELETE])('%s echo: the verb picks the handler, the JSON body and its content type arrive', async (verb) => {
        const body = { n: 2, s: 'ünïcode' };
        expect(await clientOf(protocol).invoker.invoke(APP, 'echo', verb, body)).toEqual({ method: verb, received: body });
        expect(got.at(-1)!.contentType).toBe('application/json');
      });

      it('a 5 MB body arrives intact', async () => {
        const big = randomBytes(5 * 1024 * 1024 / 2).toString('hex');
        expect(await clientOf(protocol).invoker.invoke(APP, 'big', HttpMethod.POST, big as unknown as object)).toEqual({ length: big.length, sha256: sha256(big) });
      });
    });
  }

  it('HTTP caller → gRPC app: the query string reaches OnInvoke as http_extension.querystring', async () => {
    const r = await fetch(`http://127.0.0.1:${app.sc.httpPort}/v1.0/invoke/${APP}/method/echo?a=1&b=2`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"q":1}' });
    expect([r.status, await r.json()]).toEqual([200, { method: HttpMethod.POST, received: { q: 1 } }]);
    expect(got.at(-1)!.query).toBe('a=1&b=2');
  });

  it('HTTP caller → gRPC app without that method: the SDK answers an empty InvokeResponse (200, no body)', async () => {
    const r = await fetch(`http://127.0.0.1:${app.sc.httpPort}/v1.0/invoke/${APP}/method/missing`, { method: 'PATCH' });
    expect([r.status, await r.text()]).toEqual([200, '']);
  });
});

describe('Dapr InvokeService with a plain grpc-js client and a plain HTTP app', () => {
  const APP = 'compat-invoke-grpc-plain';
  const app = new PlainApp();
  let sc: Sidecar;
  let client: grpc.Client;

  beforeAll(async () => {
    await app.start();
    sc = await startSidecar({ appId: APP, args: ['--app-port', String(app.port), ...MAX_BODY_ARGS] });
    client = new (daprClientConstructor())(`127.0.0.1:${sc.grpcPort}`, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 16 * 1024 * 1024, 'grpc.max_send_message_length': 16 * 1024 * 1024 });
  });
  afterAll(async () => {
    client?.close();
    await sc?.stop();
    await app.stop();
  });

  function invoke(message: Json, md = new grpc.Metadata(), id = APP): Promise<{ err: grpc.ServiceError | null; res?: Json; headers?: grpc.Metadata }> {
    return new Promise((resolve) => {
      let headers: grpc.Metadata | undefined;
      const call = (client as unknown as Record<string, (r: Json, m: grpc.Metadata, cb: (e: grpc.ServiceError | null, r: Json) => void) => grpc.ClientUnaryCall>).InvokeService!.call(client, { id, message }, md, (err, res) =>
        resolve({ err, res, headers }),
      );
      call.on('metadata', (m) => (headers = m));
    });
  }

  it('verb, method, query string, content type, data and metadata reach the HTTP app; dapr-http-status comes back', async () => {
    app.script = (_s, res) => res.writeHead(200, { 'content-type': 'text/plain', 'x-app': 'a1' }).end('hi back');
    const md = new grpc.Metadata();
    md.set('x-caller', 'c1');
    const out = await invoke({ method: 'items/7', data: { value: Buffer.from('hello') }, content_type: 'text/plain', http_extension: { verb: 'PUT', querystring: 'k=v&x=1' } }, md);
    expect(out.err).toBeNull();
    expect(out.res).toMatchObject({ content_type: 'text/plain', data: { value: Buffer.from('hi back') } });
    expect(out.headers!.get('dapr-http-status')).toEqual(['200']);
    expect(out.headers!.get('x-app')).toEqual(['a1']);
    const seen = app.last();
    expect([seen.method, seen.url, seen.text, seen.headers['content-type'], seen.headers['x-caller']]).toEqual(['PUT', '/items/7?k=v&x=1', 'hello', 'text/plain', 'c1']);
  });

  it.each([
    [404, grpc.status.NOT_FOUND],
    [500, grpc.status.UNKNOWN],
    [503, grpc.status.UNAVAILABLE],
    [401, grpc.status.UNAUTHENTICATED],
  ])('an HTTP %s answer is gRPC error %s, with dapr-http-status', async (status, code) => {
    app.script = (_s, res) => res.writeHead(status).end('why');
    const out = await invoke({ method: 'x', http_extension: { verb: 'GET', querystring: '' } });
    expect(out.err?.code).toBe(code);
    expect(out.headers?.get('dapr-http-status')).toEqual([String(status)]);
  });

  it('a 5 MB request and answer pass in one message each (within --max-body-size)', async () => {
    const big = randomBytes(5 * 1024 * 1024);
    app.script = (s, res) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from(`${s.length}:${s.sha256}`));
    const out = await invoke({ method: 'up', data: { value: big }, content_type: 'application/octet-stream', http_extension: { verb: 'POST', querystring: '' } });
    expect(String((out.res!.data as { value: Buffer }).value)).toBe(`${big.length}:${sha256(big)}`);
  });

  it('an unknown app id: INTERNAL "failed to invoke, id: ..."', async () => {
    const out = await invoke({ method: 'x' }, undefined, 'nobody');
    expect(out.err?.code).toBe(grpc.status.INTERNAL);
    expect(out.err?.details).toMatch(/^failed to invoke, id: nobody, err: /);
  });
});
