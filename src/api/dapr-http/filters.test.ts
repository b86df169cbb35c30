import { AsyncLocalStorage } from 'node:async_hooks';
import Fastify, { type FastifyInstance } from 'fastify';
import { FilterChain } from '../../mesh/chain';
import type { Exchange, Filter } from '../../mesh/filter';
import { sendError } from './errors';
import { inExchangeContext, installFilterChain } from './filters';
import { RuntimeError } from '../../errors/runtime-error';

function build(filter: Filter) {
  const app = Fastify();
  apps.push(app);
  installFilterChain(app, new FilterChain([filter]));
  const handled: string[] = [];
  app.get('/v1.0/state/:store/:key', async (req) => {
    handled.push(req.url);
    return { ok: true };
  });
  app.get('/v1.0/secrets/:store/:key', async (_req, reply) => sendError(reply, new RuntimeError('SECRET_STORE_NOT_FOUND', 'nope'), 1024));
  app.setNotFoundHandler(async (_req, reply) => reply.code(404).send('fallback'));
  return { app, handled };
}

// Real HTTP over a socket (light-my-request loads an ESM-only dependency jest cannot require on Node 20).
async function inject(app: FastifyInstance, o: { method: string; url: string; headers?: Record<string, string>; payload?: string }) {
  if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const r = await fetch(`http://127.0.0.1:${port}${o.url}`, { method: o.method, headers: o.headers, body: o.payload });
  return { statusCode: r.status, headers: Object.fromEntries(r.headers), body: await r.text() };
}

/** onResponse runs once the response finished on the server, which may be after the client read it. */
const settle = async (seen: unknown[], n: number) => {
  for (let i = 0; i < 100 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 10));
};

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

function recorder(stopPath?: string) {
  const seen: Exchange[] = [];
  const filter: Filter = {
    name: 'test',
    onRequest: (ex) => (ex.path === stopPath ? { http: { status: 429, body: '{"errorCode":"ERR_TOO_MANY"}', headers: { 'retry-after': '1' } }, grpc: { code: 8, details: '' } } : undefined),
    onResponse: (ex) => void seen.push({ ...ex }),
  };
  return { filter, seen };
}

describe('Dapr HTTP filter hooks', () => {
  it('continues with the route template, and reports status and sizes', async () => {
    const { filter, seen } = recorder();
    const { app, handled } = build(filter);
    const res = await inject(app, { method: 'GET', url: '/v1.0/state/s1/k1?metadata.x=1', headers: { 'user-agent': 'ua' } });
    expect(res.statusCode).toBe(200);
    expect(handled).toEqual(['/v1.0/state/s1/k1?metadata.x=1']);
    await settle(seen, 1);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ api: 'dapr-http', protocol: 'http', verb: 'GET', route: '/v1.0/state/:store/:key', path: '/v1.0/state/s1/k1', status: 200, streaming: false, responseBytes: Buffer.byteLength(res.body) });
    expect(seen[0]!.headers['user-agent']).toBe('ua');
  });

  it('stops with the local reply before the handler', async () => {
    const { filter, seen } = recorder('/v1.0/state/s1/k1');
    const { app, handled } = build(filter);
    const res = await inject(app, { method: 'GET', url: '/v1.0/state/s1/k1' });
    expect(res.statusCode).toBe(429);
    expect(res.headers['content-type']).toContain('application/json');
    expect(res.body).toBe('{"errorCode":"ERR_TOO_MANY"}');
    expect(res.headers['retry-after']).toBe('1');
    expect(handled).toEqual([]);
    await settle(seen, 1);
    expect(seen.map((e) => e.status)).toEqual([429]);
  });

  it('gives unmatched paths an empty route and notes the error code of an error answer', async () => {
    const { filter, seen } = recorder();
    const { app } = build(filter);
    await inject(app, { method: 'POST', url: '/anything/else', payload: 'abc' });
    await inject(app, { method: 'GET', url: '/v1.0/secrets/s/k' });
    await settle(seen, 2);
    expect(seen.map((e) => [e.route, e.path, e.status, e.requestBytes])).toEqual([
      ['', '/anything/else', 404, 3],
      ['/v1.0/secrets/:store/:key', '/v1.0/secrets/s/k', 401, 0],
    ]);
    expect(seen[1]!.errorCode).toBe('ERR_SECRET_STORE_NOT_FOUND');
  });

  it("runs route and not-found handlers through the exchange's context", async () => {
    const als = new AsyncLocalStorage<string>();
    const app = Fastify();
    apps.push(app);
    installFilterChain(app, new FilterChain([{ name: 'ctx', onRequest: (ex) => void (ex.run = (fn) => als.run(`ctx:${ex.path}`, fn)) }]));
    app.post('/r', async () => {
      await new Promise((r) => setTimeout(r, 5));
      return als.getStore() ?? 'none';
    });
    app.setNotFoundHandler(inExchangeContext(async (_req, reply) => reply.send(als.getStore() ?? 'none')));
    expect((await inject(app, { method: 'POST', url: '/r', payload: 'x'.repeat(100_000) })).body).toBe('ctx:/r');
    expect((await inject(app, { method: 'GET', url: '/nothing' })).body).toBe('ctx:/nothing');
  });

  it('adds no hook when no filter applies to the API', async () => {
    const app = Fastify();
    apps.push(app);
    const calls: string[] = [];
    installFilterChain(app, new FilterChain([{ name: 'grpc-only', apis: ['dapr-grpc'], onResponse: () => void calls.push('x') }]));
    app.get('/x', async () => 'x');
    await inject(app, { method: 'GET', url: '/x' });
    expect(calls).toEqual([]);
  });
});
