import { PassThrough } from 'node:stream';
import { createLogger, scoped } from '../logger';
import { type Actuator, startActuator } from './server';

describe('actuator server', () => {
  const lines: string[] = [];
  const destination = new PassThrough();
  destination.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  const log = createLogger({ level: 'info', json: true, appId: 'a', version: '9.9.9', destination });
  const state = { live: false, ready: false, redis: undefined as Error | undefined };
  let act: Actuator;
  const url = (p: string) => `http://127.0.0.1:${act.port}${p}`;
  const get = async (p: string) => {
    const r = await fetch(url(p));
    const text = await r.text();
    return { status: r.status, type: r.headers.get('content-type'), body: text ? JSON.parse(text) : undefined };
  };
  const post = (body: string) => fetch(url('/actuator/logger'), { method: 'POST', body });

  beforeAll(async () => {
    act = await startActuator({
      port: 0,
      host: '127.0.0.1',
      name: 'layotto-ts',
      version: '9.9.9',
      log,
      isLive: () => state.live,
      isReady: () => state.ready,
      probes: () => [{ name: 'state-redis', ping: async () => { if (state.redis) throw state.redis; } }],
      cacheMs: 0,
    });
  });
  afterAll(() => act.close());

  it('answers INIT (503) while starting, then UP (200), with runtime_startup and the component indicators', async () => {
    expect(await get('/actuator/health/liveness')).toEqual({ status: 503, type: 'application/json', body: { status: 'INIT', components: { runtime_startup: { status: 'INIT', details: { reason: 'starting' } } } } });
    state.live = true;
    expect((await get('/actuator/health/liveness')).status).toBe(200);
    expect((await get('/actuator/health/readiness')).body.status).toBe('INIT');
    state.ready = true;
    expect(await get('/actuator/health/readiness')).toEqual({
      status: 200,
      type: 'application/json',
      body: { status: 'UP', components: { runtime_startup: { status: 'UP', details: { reason: '' } }, 'state-redis': { status: 'UP' } } },
    });
  });

  it('turns readiness DOWN when a component ping fails, liveness stays UP', async () => {
    state.redis = new Error('connection refused');
    const r = await get('/actuator/health/readiness');
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ status: 'DOWN', components: { 'state-redis': { status: 'DOWN', details: { reason: 'connection refused' } } } });
    expect((await get('/actuator/health/liveness')).body.status).toBe('UP');
    state.redis = undefined;
    expect((await get('/actuator/health/readiness')).status).toBe(200);
  });

  it('answers info with the app name, version and build time', async () => {
    const r = await get('/actuator/info');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ app: { name: 'layotto-ts', version: '9.9.9', compiled: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) } });
  });

  it('answers 404 with an empty body off the actuator paths, 500 for an unknown health type', async () => {
    for (const p of ['/', '/foo/health/liveness', '/actuator', '/actuator/nope', '/actuator/constructor']) expect(await get(p)).toEqual({ status: 404, type: 'application/json', body: undefined });
    expect(await get('/actuator/health')).toMatchObject({ status: 500, body: { error: 'health type invalid' } });
    expect(await get('/actuator/health/startup')).toMatchObject({ status: 500 });
  });

  it('changes a scope level at run time through POST /actuator/logger', async () => {
    const http = scoped(log, 'dapr.runtime.http');
    http.debug('before');
    const r = await post('{"component":"dapr.runtime.http","level":"DEBUG"}');
    expect([r.status, await r.json()]).toEqual([200, {}]);
    http.debug('after');
    log.debug('root stays at info');
    await new Promise((res) => setImmediate(res));
    const msgs = lines.map((l) => JSON.parse(l).msg);
    expect(msgs).toContain('after');
    expect(msgs).not.toContain('before');
    expect(msgs).not.toContain('root stays at info');
  });

  it('refuses a bad logger request with a reason', async () => {
    for (const body of ['', 'not json', '{"component":"x","level":"loud"}', '{"component":"x"}']) {
      const r = await post(body);
      expect(r.status).toBe(500);
      expect(((await r.json()) as { error: unknown }).error).toEqual(expect.any(String));
    }
  });
});
