// The invocation core against recording invokers (and one real HTTP server for URL targets and
// HTTPEndpoints): which target a call goes to, the headers daprd adds and strips, method checks,
// errors, and how it runs under Resiliency (retries replay the body; failure statuses retried,
// then answered as they are).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { ComponentStore } from '../../components/store';
import { RuntimeError } from '../../errors/runtime-error';
import { StatusCodeError } from '../resiliency/errors';
import type { Operation, Resiliency } from '../resiliency/types';
import { buildResiliency } from '../../config/resiliency';
import { InvokeCore } from './index';
import type { InvokeRequest, InvokeResponse, Invoker } from './types';

const ctx = { components: new ComponentStore(), appId: 'me', namespace: 'ns1', runtimeVersion: 'test' };

const req = (over: Partial<InvokeRequest> = {}): InvokeRequest => ({
  appId: 'me',
  method: 'orders/1',
  verb: 'POST',
  query: 'a=1',
  headers: {},
  contentType: 'text/plain',
  body: Readable.from([Buffer.from('hello')]),
  length: 5,
  ...over,
});

const answer = (status = 200, body = 'ok'): InvokeResponse => ({ status, headers: { 'x-app': ['1'] }, contentType: 'text/plain', body: Readable.from([Buffer.from(body)]) });

interface Seen {
  req: InvokeRequest;
  body: string;
}

/** An invoker that records what it got (body read whole) and answers from a script. */
function recorder(respond: (n: number) => InvokeResponse | Error = () => answer()) {
  const seen: Seen[] = [];
  const invoker: Invoker = {
    invoke: async (r) => {
      const body = Buffer.concat(await r.body.toArray()).toString();
      seen.push({ req: r, body });
      const out = respond(seen.length);
      if (out instanceof Error) throw out;
      return out;
    },
  };
  return { invoker, seen };
}

const text = async (r: InvokeResponse) => Buffer.concat(await r.body.toArray()).toString();

async function failure(p: Promise<unknown>): Promise<RuntimeError> {
  const e = await p.catch((x: unknown) => x);
  expect(e).toBeInstanceOf(RuntimeError);
  return e as RuntimeError;
}

/** Resiliency that retries every failure up to `times` more attempts, recording the targets. */
function retrying(times: number) {
  const calls: { appId: string; endpoint?: string }[] = [];
  const r: Resiliency = {
    app: async <T>(appId: string, op: Operation<T>, endpoint?: string): Promise<T> => {
      calls.push({ appId, endpoint });
      let last: unknown;
      for (let i = 0; i <= times; i++) {
        try {
          return await op(new AbortController().signal);
        } catch (e) {
          last = e;
          if ((e as Error).name === 'PermanentError') throw (e as { error: unknown }).error;
        }
      }
      throw last;
    },
    sidecarCall: (_id, op) => op(new AbortController().signal),
    componentOutbound: (_n, op) => op(new AbortController().signal),
    componentInbound: (_n, op) => op(new AbortController().signal),
  };
  return { r, calls };
}

describe('InvokeCore: targets', () => {
  it('its own app id (bare or with its namespace) goes to the app channel, with the method cleaned', async () => {
    const app = recorder();
    const core = new InvokeCore(ctx);
    core.setAppChannel(app.invoker);
    const res = await core.invoke(req());
    expect(res.status).toBe(200);
    expect(await text(res)).toBe('ok');
    await core.invoke(req({ appId: 'me.ns1', method: '/a//b/./c/../d/' }));
    expect(app.seen.map((s) => [s.req.method, s.req.verb, s.req.query, s.req.contentType, s.body])).toEqual([
      ['orders/1', 'POST', 'a=1', 'text/plain', 'hello'],
      ['a/b/d/', 'POST', 'a=1', 'text/plain', 'hello'],
    ]);
  });

  it('another app id (or its own id in another namespace) goes to the remote invoker, with the namespace split off', async () => {
    const remote = recorder();
    const asked: string[][] = [];
    const core = new InvokeCore(ctx, { remote: (id, ns) => (asked.push([id, ns]), remote.invoker) });
    core.setAppChannel(recorder().invoker);
    await core.invoke(req({ appId: 'orders' }));
    await core.invoke(req({ appId: 'orders.prod' }));
    await core.invoke(req({ appId: 'me.other' }));
    expect(asked).toEqual([
      ['orders', 'ns1'],
      ['orders', 'prod'],
      ['me', 'other'],
    ]);
    expect(remote.seen).toHaveLength(3);
  });

  it('unknown app without a remote transport, bad ids, no app channel: ERR_DIRECT_INVOKE 500 with the reason', async () => {
    const core = new InvokeCore(ctx);
    const cases: [string, string][] = [
      ['orders', "failed to invoke, id: orders, err: couldn't find service: orders"],
      ['a.b.c', 'failed to invoke, id: a.b.c, err: invalid app id a.b.c'],
      ['', 'failed to invoke, id: , err: app id is empty'],
      ['me', 'failed to invoke, id: me, err: cannot invoke local endpoint: app channel not initialized'],
    ];
    for (const [appId, message] of cases) {
      const e = await failure(core.invoke(req({ appId })));
      expect([e.code, e.row.http, e.message]).toEqual(['ERR_DIRECT_INVOKE', 500, message]);
    }
  });

  it('a remote resolver that rejects gives its reason', async () => {
    const core = new InvokeCore(ctx, { remote: () => Promise.reject(new Error('no such app in the registry')) });
    expect((await failure(core.invoke(req({ appId: 'x' })))).message).toBe('failed to invoke, id: x, err: no such app in the registry');
  });

  it('methods with forbidden or control characters are refused before any call', async () => {
    const app = recorder();
    const core = new InvokeCore(ctx);
    core.setAppChannel(app.invoker);
    for (const method of ['a#b', 'a?b', 'a%3Fb', 'a\u0001b', 'a%00b']) {
      const e = await failure(core.invoke(req({ method })));
      expect(e.code).toBe('ERR_DIRECT_INVOKE');
      expect(e.message).toMatch(/^failed to invoke, id: me, err: invalid method: method contains (forbidden|control) character/);
    }
    expect(app.seen).toHaveLength(0);
  });

  it('a transport failure is wrapped; a RuntimeError from the target passes through', async () => {
    const core = new InvokeCore(ctx);
    core.setAppChannel(recorder(() => new Error('connect ECONNREFUSED')).invoker);
    expect((await failure(core.invoke(req()))).message).toBe('failed to invoke, id: me, err: connect ECONNREFUSED');
    core.setAppChannel(recorder(() => new RuntimeError('BODY_TOO_LARGE', 'limit is 1 bytes')).invoker);
    expect((await failure(core.invoke(req()))).code).toBe('ERR_BODY_READ');
  });
});

describe('InvokeCore: headers', () => {
  it('drops hop-by-hop and Dapr API headers, adds caller/callee ids and a traceparent', async () => {
    const app = recorder();
    const core = new InvokeCore(ctx);
    core.setAppChannel(app.invoker);
    await core.invoke(
      req({
        headers: {
          'x-custom': ['a', 'b'],
          connection: ['keep-alive'],
          'transfer-encoding': ['chunked'],
          host: ['localhost:3500'],
          'content-length': ['5'],
          'content-type': ['text/plain'],
          'dapr-app-id': ['me'],
          'dapr-api-token': ['secret'],
          'dapr-caller-app-id': ['spoofed'],
          tracestate: ['k=v'],
        },
      }),
    );
    const h = app.seen[0]!.req.headers;
    expect(Object.keys(h).sort()).toEqual(['dapr-callee-app-id', 'dapr-caller-app-id', 'traceparent', 'x-custom']);
    expect(h['x-custom']).toEqual(['a', 'b']);
    expect(h['dapr-caller-app-id']).toEqual(['me']);
    expect(h['dapr-callee-app-id']).toEqual(['me']);
    expect(h.traceparent![0]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  });

  it("keeps the caller's valid trace context", async () => {
    const app = recorder();
    const core = new InvokeCore(ctx);
    core.setAppChannel(app.invoker);
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await core.invoke(req({ headers: { traceparent: [tp], tracestate: ['k=v'] } }));
    expect(app.seen[0]!.req.headers).toMatchObject({ traceparent: [tp], tracestate: ['k=v'] });
  });

  it('a remote call also carries X-Forwarded-* and Forwarded, and names the callee', async () => {
    const remote = recorder();
    const core = new InvokeCore(ctx, { remote: () => remote.invoker });
    await core.invoke(req({ appId: 'orders.prod', headers: { 'x-forwarded-for': ['10.0.0.9'] } }));
    const h = remote.seen[0]!.req.headers;
    expect(h['dapr-callee-app-id']).toEqual(['orders']);
    expect(h['dapr-caller-app-id']).toEqual(['me']);
    expect(h['x-forwarded-for']![0]).toBe('10.0.0.9');
    expect(h.forwarded![0]).toMatch(/host=/);
    expect(h['x-forwarded-host']).toHaveLength(1);
  });
});

describe('InvokeCore: resiliency', () => {
  it('runs under app(<id>, op, <id>:<method>); a retry sends the whole body again', async () => {
    const app = recorder((n) => (n === 1 ? new Error('boom') : answer()));
    const { r, calls } = retrying(2);
    const core = new InvokeCore(ctx, { resiliency: r });
    core.setAppChannel(app.invoker);
    const res = await core.invoke(req({ body: Readable.from([Buffer.from('hel'), Buffer.from('lo')]) }));
    expect(res.status).toBe(200);
    expect(calls).toEqual([{ appId: 'me', endpoint: 'me:orders/1' }]);
    expect(app.seen.map((s) => s.body)).toEqual(['hello', 'hello']);
  });

  it('a failure status is given to the policy as a StatusCodeError, and answered as it is once retries run out', async () => {
    const app = recorder(() => answer(503, 'busy'));
    const errors: unknown[] = [];
    const r: Resiliency = {
      ...retrying(0).r,
      app: async (_id, op) => {
        for (let i = 0; i < 3; i++) await op(new AbortController().signal).catch((e: unknown) => errors.push(e));
        throw errors.at(-1);
      },
    };
    const core = new InvokeCore(ctx, { resiliency: r });
    core.setAppChannel(app.invoker);
    const res = await core.invoke(req());
    expect(errors.every((e) => e instanceof StatusCodeError && e.statusCode === 503 && e.protocol === 'http')).toBe(true);
    expect(app.seen).toHaveLength(3);
    expect([res.status, res.headers['x-app'], await text(res)]).toEqual([503, ['1'], 'busy']);
  });

  it('a body too large to keep streams once: a retry after it fails for good', async () => {
    const app = recorder(() => new Error('reset'));
    const { r } = retrying(3);
    const core = new InvokeCore(ctx, { resiliency: r, replayLimit: 4 });
    core.setAppChannel(app.invoker);
    const e = await failure(core.invoke(req({ body: Readable.from([Buffer.from('0123456789')]), length: 10 })));
    expect(e.message).toMatch(/cannot be sent again/);
    expect(app.seen.map((s) => s.body)).toEqual(['0123456789']);
  });

  it('a failure status of a streamed (unknown length, too large) request is answered as it is, without the policy seeing it', async () => {
    const app = recorder(() => answer(500, 'x'));
    const errors: unknown[] = [];
    const r: Resiliency = { ...retrying(0).r, app: (_id, op) => op(new AbortController().signal).catch((e) => (errors.push(e), Promise.reject(e))) };
    const core = new InvokeCore(ctx, { resiliency: r });
    core.setAppChannel(app.invoker);
    const res = await core.invoke(req({ length: undefined }));
    expect([res.status, await text(res), errors]).toEqual([500, 'x', []]);
  });
});

describe('InvokeCore: external targets', () => {
  let server: Server;
  let base: string;
  const got: { method?: string; url?: string; headers: Record<string, unknown>; body: string }[] = [];

  beforeAll(async () => {
    server = createServer((r, res) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => {
        got.push({ method: r.method, url: r.url, headers: r.headers, body: Buffer.concat(chunks).toString() });
        res.writeHead(201, { 'content-type': 'application/json', 'x-ext': 'yes' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => (got.length = 0));

  it('a URL as app id is called directly, without app ids or the app token', async () => {
    const core = new InvokeCore(ctx);
    const res = await core.invoke(req({ appId: base, method: 'v1/items', headers: { 'x-h': ['1'] } }));
    expect([res.status, res.contentType, res.headers['x-ext'], await text(res)]).toEqual([201, 'application/json', ['yes'], '{"ok":true}']);
    expect(got[0]).toMatchObject({ method: 'POST', url: '/v1/items?a=1', body: 'hello', headers: { 'x-h': '1', 'content-type': 'text/plain' } });
    expect(got[0]!.headers['dapr-caller-app-id']).toBeUndefined();
    await core.close();
  });

  it('an HTTPEndpoint name uses its base URL (path kept) and adds its headers', async () => {
    const core = new InvokeCore(ctx);
    core.external.setEndpoints([{ name: 'ext', baseUrl: `${base}/api/`, headers: { authorization: 'Bearer t' } }]);
    const { r, calls } = retrying(0);
    core.setResiliency(r);
    await core.invoke(req({ appId: 'ext', method: 'x', verb: 'GET', query: '', body: Readable.from([]), length: 0, headers: { authorization: ['caller'] } }));
    expect(got[0]).toMatchObject({ method: 'GET', url: '/api/x', headers: { authorization: 'Bearer t' } });
    expect(calls).toEqual([{ appId: 'ext', endpoint: `ext:${base}/api/` }]);
    await core.close();
  });
});

describe('InvokeCore: daprd built-in service retries', () => {
  const unavailable = () => Object.assign(new Error('rpc error: code = Unavailable desc = connection refused'), { code: 14 });

  it('a remote call that fails UNAVAILABLE is tried again (no Resiliency resource names the app)', async () => {
    const remote = recorder((n) => (n === 1 ? unavailable() : answer()));
    const core = new InvokeCore(ctx, { remote: () => remote.invoker, resiliency: buildResiliency([], 'me') });
    const res = await core.invoke(req({ appId: 'orders', body: Readable.from([Buffer.from('hi')]), length: 2 }));
    expect(res.status).toBe(200);
    expect(remote.seen.map((s) => s.body)).toEqual(['hi', 'hi']);
  });

  it('other failures are not retried by the built-in policy', async () => {
    const remote = recorder(() => new Error('boom'));
    const core = new InvokeCore(ctx, { remote: () => remote.invoker, resiliency: buildResiliency([], 'me') });
    await failure(core.invoke(req({ appId: 'orders' })));
    expect(remote.seen).toHaveLength(1);
  });
});
