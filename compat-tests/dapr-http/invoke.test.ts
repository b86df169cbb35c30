// Service invocation through the Dapr HTTP API of the built sidecar, one sidecar calling its own
// app (self-invocation; cross-sidecar calls are the sidecar-to-sidecar suite's). First with the
// real @dapr/dapr SDK on both sides (a DaprServer HTTP app, DaprClients over HTTP and gRPC), then
// with a plain node:http app that records exactly what reached it: verbs, paths, query strings,
// headers both ways, status codes, 5 MB bodies streamed, the dapr-app-id header, HTTPEndpoint
// resources and URL targets, app health checks, and the errors.
import { HttpMethod } from '@dapr/dapr';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { until } from '../../test/wait';
import { MAX_BODY_ARGS, PlainApp, type Protocol, type SdkApp, SdkClients, sha256, startSdkApp } from '../helpers/invoke';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';

const FIVE_MB = 5 * 1024 * 1024;

describe('Dapr HTTP invocation via @dapr/dapr: DaprServer HTTP app, DaprClient over HTTP and gRPC', () => {
  const APP = 'compat-invoke-http-sdk';
  let app: SdkApp;
  const got: { method: string; body: string; query: string; headers: Record<string, unknown> }[] = [];

  beforeAll(async () => {
    app = await startSdkApp('http', APP, async (server) => {
      await server.invoker.listen('hello', async () => ({ hello: 'world' }), { method: HttpMethod.GET });
      for (const method of [HttpMethod.POST, HttpMethod.PUT, HttpMethod.DELETE, HttpMethod.PATCH]) {
        await server.invoker.listen(
          'echo',
          async (d) => {
            got.push({ method, body: d.body ?? '', query: String(d.query), headers: (d.headers ?? {}) as Record<string, unknown> });
            return { method, received: JSON.parse(d.body ?? 'null') as unknown };
          },
          { method },
        );
      }
      await server.invoker.listen('big', async (d) => {
        const text = JSON.parse(d.body ?? '""') as string;
        return { length: text.length, sha256: sha256(text), echo: text };
      }, { method: HttpMethod.POST });
    });
  });
  afterAll(() => app?.stop());

  const clients = new SdkClients(() => app.sc);
  const clientOf = (protocol: Protocol) => clients.of(protocol);
  afterAll(() => clients.stopAll());

  for (const protocol of ['http', 'grpc'] as const) {
    describe(`DaprClient over ${protocol}`, () => {
      const client = () => clientOf(protocol);

      it('GET hello answers the handler result', async () => {
        expect(await client().invoker.invoke(APP, 'hello', HttpMethod.GET)).toEqual({ hello: 'world' });
      });

      it.each([HttpMethod.POST, HttpMethod.PUT, HttpMethod.DELETE, HttpMethod.PATCH])('%s echo: the verb picks the handler, the JSON body arrives intact', async (verb) => {
        const body = { n: 1, s: 'héllo', nested: { list: [1, 2, 3] } };
        expect(await client().invoker.invoke(APP, 'echo', verb, body)).toEqual({ method: verb, received: body });
        expect(got.at(-1)!.method).toBe(verb);
      });

      it('a 5 MB body arrives intact and the 5 MB answer comes back', async () => {
        const big = randomBytes(FIVE_MB / 2).toString('hex');
        const res = (await client().invoker.invoke(APP, 'big', HttpMethod.POST, big as unknown as object)) as { length: number; sha256: string; echo: string };
        expect([res.length, res.sha256]).toEqual([big.length, sha256(big)]);
        expect(sha256(res.echo)).toBe(sha256(big));
      });
    });
  }

  it('HTTP client: query strings and custom headers reach the app; the app sees the caller and callee ids', async () => {
    await clientOf('http').invoker.invoke(APP, 'echo?x=1&y=two', HttpMethod.POST, { q: true }, { headers: { 'x-custom': 'yes' } });
    const last = got.at(-1)!;
    expect(last.query).toBe('/echo?x=1&y=two');
    expect(last.headers).toMatchObject({ 'x-custom': 'yes', 'dapr-caller-app-id': APP, 'dapr-callee-app-id': APP });
    expect(String(last.headers.traceparent)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  });

  it('an unknown app id: the SDK call fails with ERR_DIRECT_INVOKE (HTTP 500 / gRPC INTERNAL)', async () => {
    await expect(clientOf('http').invoker.invoke('no-such-app', 'hello', HttpMethod.GET)).rejects.toThrow(/ERR_DIRECT_INVOKE.*failed to invoke, id: no-such-app/s);
    await expect(clientOf('grpc').invoker.invoke('no-such-app', 'hello', HttpMethod.GET)).rejects.toThrow(/failed to invoke, id: no-such-app/);
  });
});

describe('Dapr HTTP invocation with a plain node:http app', () => {
  const APP = 'compat-invoke-http-plain';
  const app = new PlainApp();
  let sc: Sidecar;
  let base: string;
  let ext: PlainApp;

  beforeAll(async () => {
    await app.start();
    ext = await new PlainApp().start();
    sc = await startSidecar({
      appId: APP,
      args: ['--app-port', String(app.port), ...MAX_BODY_ARGS],
      env: { APP_API_TOKEN: 'app-token' },
      resources: {
        'ext.yaml': `apiVersion: dapr.io/v1alpha1\nkind: HTTPEndpoint\nmetadata:\n  name: ext-api\nspec:\n  baseUrl: ${ext.url}/base\n  headers:\n  - name: X-Api-Key\n    value: k-123\n`,
      },
    });
    base = `http://127.0.0.1:${sc.httpPort}`;
  });
  afterAll(async () => {
    await sc?.stop();
    await app.stop();
    await ext?.stop();
  });
  beforeEach(() => {
    app.script = new PlainApp().script;
  });

  it.each(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'])('%s reaches the app with its path and raw query string', async (verb) => {
    const r = await fetch(`${base}/v1.0/invoke/${APP}/method/orders/a%20b?x=1&y=a%2Cb&x=2`, { method: verb });
    expect(r.status).toBe(200);
    await r.text();
    expect([app.last().method, app.last().url]).toEqual([verb, '/orders/a%20b?x=1&y=a%2Cb&x=2']);
  });

  it('request headers are forwarded (repeated ones too); hop-by-hop and Dapr API ones are not; the app token and app ids are added', async () => {
    const r = await fetch(`${base}/v1.0/invoke/${APP}/method/h`, {
      method: 'POST',
      headers: [
        ['x-one', '1'],
        ['x-multi', 'a'],
        ['x-multi', 'b'],
        ['dapr-api-token', 'caller-token'],
        ['content-type', 'application/xml'],
      ],
      body: '<x/>',
    });
    await r.text();
    const h = app.last().headers;
    expect(h).toMatchObject({ 'x-one': '1', 'x-multi': 'a, b', 'content-type': 'application/xml', 'content-length': '4', 'dapr-api-token': 'app-token', 'dapr-caller-app-id': APP, 'dapr-callee-app-id': APP });
    expect(app.last().text).toBe('<x/>');
  });

  it.each([201, 204, 301, 404, 418, 500, 503])('status %s, its headers and body come back as the app sent them', async (status) => {
    app.script = (_s, res) => {
      res.writeHead(status, { 'content-type': 'text/custom', 'x-answer': 'yes', 'set-cookie': ['a=1', 'b=2'], location: '/there' });
      res.end(status === 204 ? undefined : `status ${status}`);
    };
    const r = await fetch(`${base}/v1.0/invoke/${APP}/method/s`, { redirect: 'manual' });
    expect(r.status).toBe(status);
    expect([r.headers.get('content-type'), r.headers.get('x-answer'), r.headers.getSetCookie(), r.headers.get('location')]).toEqual(['text/custom', 'yes', ['a=1', 'b=2'], '/there']);
    expect(await r.text()).toBe(status === 204 ? '' : `status ${status}`);
  });

  it('a 5 MB body is streamed both ways, with a length and chunked', async () => {
    const big = randomBytes(FIVE_MB);
    app.script = (s, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-got': `${s.length}:${s.sha256}` });
      Readable.from((function* () {
        for (let i = 0; i < big.length; i += 64 * 1024) yield big.subarray(i, i + 64 * 1024);
      })()).pipe(res);
    };
    let r = await fetch(`${base}/v1.0/invoke/${APP}/method/upload`, { method: 'PUT', body: big });
    expect(r.headers.get('x-got')).toBe(`${FIVE_MB}:${sha256(big)}`);
    expect(sha256(Buffer.from(await r.arrayBuffer()))).toBe(sha256(big));
    r = await fetch(`${base}/v1.0/invoke/${APP}/method/upload`, { method: 'POST', body: Readable.toWeb(Readable.from([big.subarray(0, FIVE_MB / 2), big.subarray(FIVE_MB / 2)])) as ReadableStream, duplex: 'half' } as RequestInit);
    expect(r.headers.get('x-got')).toBe(`${FIVE_MB}:${sha256(big)}`);
    expect((await r.arrayBuffer()).byteLength).toBe(FIVE_MB);
  });

  it('the app sees the first part of a slow upload before the caller sent the rest', async () => {
    app.arriving.length = 0;
    const upload = new Readable({ read() {} });
    const done = new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${base}/v1.0/invoke/${APP}/method/slow`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      upload.pipe(req);
    });
    upload.push('part-1;');
    await until(() => app.arriving.join('') === 'part-1;', () => `the first part at the app (got ${JSON.stringify(app.arriving)})`);
    upload.push('part-2');
    upload.push(null);
    expect(await done).toBe(200);
    expect(app.last().text).toBe('part-1;part-2');
  });

  it('the dapr-app-id header routes any path to the app (the path is the method)', async () => {
    const r = await fetch(`${base}/orders/42?full=true`, { method: 'POST', headers: { 'dapr-app-id': APP }, body: 'x' });
    expect(r.status).toBe(200);
    expect([app.last().method, app.last().url, app.last().headers['dapr-app-id']]).toEqual(['POST', '/orders/42?full=true', undefined]);
    const basic = await fetch(`${base}/items`, { headers: { authorization: `Basic ${Buffer.from(`dapr-app-id:${APP}`).toString('base64')}` } });
    expect([basic.status, app.last().url]).toEqual([200, '/items']);
  });

  it('an HTTPEndpoint resource is called at its base URL with its headers; a URL-encoded URL target directly', async () => {
    let r = await fetch(`${base}/v1.0/invoke/ext-api/method/v2/items?q=1`, { method: 'POST', body: 'e' });
    expect(r.status).toBe(200);
    expect([ext.last().method, ext.last().url, ext.last().headers['x-api-key'], ext.last().headers['dapr-api-token']]).toEqual(['POST', '/base/v2/items?q=1', 'k-123', undefined]);
    r = await fetch(`${base}/v1.0/invoke/${encodeURIComponent(ext.url)}/method/direct`);
    expect([r.status, ext.last().url]).toEqual([200, '/direct']);
  });

  it('errors: no app id 404, unknown app 500, a malformed method 500, a body over --max-body-size 413 (all ERR_*)', async () => {
    const err = async (r: Response) => [r.status, ((await r.json()) as { errorCode: string }).errorCode];
    expect(await err(await fetch(`${base}/v1.0/invoke/method/x`))).toEqual([404, 'ERR_DIRECT_INVOKE']);
    expect(await err(await fetch(`${base}/v1.0/nothing-here`))).toEqual([404, 'ERR_DIRECT_INVOKE']);
    const unknown = await fetch(`${base}/v1.0/invoke/nobody/method/x`);
    // The reason is name resolution's (daprd's resolvers word it each their own way).
    expect([unknown.status, await unknown.json()]).toEqual([500, { errorCode: 'ERR_DIRECT_INVOKE', message: expect.stringMatching(/^failed to invoke, id: nobody, err: .+/) }]);
    const bad = await fetch(`${base}/v1.0/invoke/${APP}/method/a%23b`);
    expect([bad.status, ((await bad.json()) as { message: string }).message]).toEqual([500, expect.stringContaining('invalid method') as unknown as string]);
    expect(await err(await fetch(`${base}/v1.0/invoke/${APP}/method/x`, { method: 'POST', body: Buffer.alloc(17 * 1024 * 1024) }))).toEqual([413, 'ERR_BODY_READ']);
  });
});

describe('Dapr HTTP invocation: the app down, and app health checks', () => {
  const APP = 'compat-invoke-health';

  it('an app that is not listening: 500 ERR_DIRECT_INVOKE naming the connection failure, at once', async () => {
    const app = await new PlainApp().start();
    const port = app.port;
    await app.stop(); // the port is free again: nothing listens
    const sc = await startSidecar({ appId: APP, args: ['--app-port', String(port)], wait: false });
    try {
      await until(async () => (await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/healthz/outbound`).catch(() => undefined))?.status === 204, () => 'outbound ready');
      const t0 = Date.now();
      const r = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/invoke/${APP}/method/x`);
      const body = (await r.json()) as { errorCode: string; message: string };
      expect(r.status).toBe(500);
      expect(body.errorCode).toBe('ERR_DIRECT_INVOKE');
      expect(body.message).toMatch(new RegExp(`^failed to invoke, id: ${APP}, err: GET "http://127\\.0\\.0\\.1:${port}/x": connect ECONNREFUSED`));
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      await sc.stop();
    }
  });

  it('--enable-app-health-check: unhealthy app → invocations fail fast and deliveries wait; healthy again → both go through', async () => {
    let healthy = true;
    const app = await new PlainApp().start();
    app.script = (s, res) => {
      if (s.url === '/ready') res.writeHead(healthy ? 200 : 503).end();
      else res.writeHead(200).end('ok');
    };
    const sc = await startSidecar({
      appId: APP,
      args: ['--app-port', String(app.port), '--enable-app-health-check', '--app-health-check-path', '/ready', '--app-health-probe-interval', '1', '--app-health-probe-timeout', '500', '--app-health-threshold', '1'],
      resources: {
        'pubsub.yaml': componentYaml('events', 'pubsub.in-memory'),
        'sub.yaml': 'apiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata:\n  name: s\nspec:\n  pubsubname: events\n  topic: t\n  routes:\n    default: /events\n',
      },
    });
    const probes = () => app.seen.filter((s) => s.url === '/ready').length;
    const deliveries = () => app.seen.filter((s) => s.url === '/events').length;
    const call = () => fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/invoke/${APP}/method/work`).then(async (r) => ({ status: r.status, body: await r.text() }));
    try {
      await until(async () => (await call()).status === 200, () => 'the app healthy');
      healthy = false;
      await until(async () => (await call()).status === 500, () => 'the app unhealthy');
      const r = await call();
      expect(JSON.parse(r.body)).toEqual({ errorCode: 'ERR_DIRECT_INVOKE', message: `failed to invoke, id: ${APP}, err: app is not in a healthy state` });
      const before = app.seen.filter((s) => s.url === '/work').length;
      await call();
      expect(app.seen.filter((s) => s.url === '/work').length).toBe(before); // failed fast: the app never saw it
      const published = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/publish/events/t`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' });
      expect(published.status).toBe(204);
      const probesThen = probes();
      await until(() => probes() >= probesThen + 2, () => 'two more probes while unhealthy');
      expect(deliveries()).toBe(0); // held while the app is unhealthy
      healthy = true;
      await until(async () => (await call()).body === 'ok', () => 'the app healthy again');
      await until(() => deliveries() === 1, () => 'the held event delivered');
    } finally {
      await sc.stop();
      await app.stop();
    }
  });
});
