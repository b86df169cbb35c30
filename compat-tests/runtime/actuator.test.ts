// Layotto's actuator on the built binary: liveness/readiness with a component whose Redis (a
// private redis-server, never the machine's) stops and comes back, info, run-time log levels
// through POST /actuator/logger, 404s; and the JSON log lines of the running sidecar.
import { findBinary, PrivateServer } from '../helpers/private-server';
import { componentYaml, freePort, type Sidecar, startSidecar } from '../helpers/sidecar';
import { until } from '../../test/wait';
import { requireService } from '../../test/services';

interface Answer {
  status: number;
  type: string | null;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function call(port: number, path: string, init?: RequestInit): Promise<Answer> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, init);
  const text = await r.text();
  return { status: r.status, type: r.headers.get('content-type'), body: text ? JSON.parse(text) : undefined };
}

/** Sidecar starts take seconds on a busy 2-core box: generous bounds, never timing assertions. */
const SLOW = 90_000;

const jsonLines = (sc: Sidecar): Record<string, unknown>[] =>
  sc
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('actuator with a Redis state store', () => {
  const binary = findBinary('redis-server', 'the actuator readiness tests');
  const run = binary ? it : it.skip;
  let redis: PrivateServer | undefined;
  let sc: Sidecar | undefined;
  let port = 0;
  const get = (path: string) => call(port, path);

  beforeAll(async () => {
    if (!binary) return;
    const redisPort = await freePort();
    redis = new PrivateServer({ name: 'redis-server', binary, port: redisPort, args: (dir) => ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir] });
    await redis.start();
    port = await freePort();
    sc = await startSidecar({
      resources: {
        'statestore.yaml': componentYaml('statestore', 'state.redis', { redisHost: `127.0.0.1:${redisPort}` }),
        'lock.yaml': componentYaml('lockstore', 'lock.in-memory'),
      },
      args: ['--actuator-port', String(port), '--log-as-json'],
    });
  }, SLOW);

  afterAll(async () => {
    await sc?.stop();
    await redis?.remove();
  });

  run('answers liveness UP with runtime_startup', async () => {
    expect(await get('/actuator/health/liveness')).toEqual({
      status: 200,
      type: 'application/json',
      body: { status: 'UP', components: { runtime_startup: { status: 'UP', details: { reason: '' } } } },
    });
  });

  run('answers readiness UP with one indicator per component that pings (not the in-memory lock)', async () => {
    expect(await get('/actuator/health/readiness')).toEqual({
      status: 200,
      type: 'application/json',
      body: { status: 'UP', components: { runtime_startup: { status: 'UP', details: { reason: '' } }, 'state-statestore': { status: 'UP' } } },
    });
  });

  run('turns readiness DOWN (503) with the reason while Redis is stopped, and UP again once it is back', async () => {
    await redis!.stop();
    await until(async () => (await get('/actuator/health/readiness')).status === 503, () => 'readiness 503 after Redis stopped', 30_000);
    const down = await get('/actuator/health/readiness');
    expect(down.body.status).toBe('DOWN');
    expect(down.body.components['state-statestore']).toEqual({ status: 'DOWN', details: { reason: expect.stringMatching(/redis connection is \w+|timed out/) } });
    expect(down.body.components.runtime_startup.status).toBe('UP');
    // Liveness is about the runtime itself: a backend outage does not ask for a restart.
    expect((await get('/actuator/health/liveness')).status).toBe(200);

    await redis!.start();
    await until(async () => (await get('/actuator/health/readiness')).status === 200, () => 'readiness 200 after Redis came back', 30_000);
    expect((await get('/actuator/health/readiness')).body.components['state-statestore']).toEqual({ status: 'UP' });
  }, SLOW);

  run('answers info with the app name, version and build time', async () => {
    const r = await get('/actuator/info');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ app: { name: 'layotto-ts', version: expect.stringMatching(/^\d+\.\d+\.\d+/), compiled: expect.any(String) } });
    expect(new Date(r.body.app.compiled).toISOString()).toBe(r.body.app.compiled);
  });

  run('answers 404 with an empty body off its paths, and 500 for an unknown health type', async () => {
    for (const p of ['/', '/health/liveness', '/actuator', '/actuator/nope', '/actuator/metrics/x']) {
      expect(await get(p)).toEqual({ status: 404, type: 'application/json', body: undefined });
    }
    expect((await get('/actuator/health/other')).status).toBe(500);
  });

  run('changes a scope level at run time: debug lines of dapr.runtime.http appear only after POST /actuator/logger', async () => {
    const missing = (key: string) => fetch(`http://127.0.0.1:${sc!.httpPort}/v1.0/state/nosuch/${key}`);
    // daprd's message names the store, not the key: count the lines.
    const debugLines = () => jsonLines(sc!).filter((r) => r.level === 'debug' && r.scope === 'dapr.runtime.http' && String(r.msg).includes('nosuch'));
    expect((await missing('before')).status).toBe(400);

    const set = await call(port, '/actuator/logger', { method: 'POST', body: JSON.stringify({ component: 'dapr.runtime.http', level: 'debug' }) });
    expect([set.status, set.body]).toEqual([200, {}]);
    expect((await missing('after')).status).toBe(400);
    await until(() => debugLines().length === 1, () => `one debug line from dapr.runtime.http:\n${sc!.output()}`);

    // Back to info: the next error is quiet again.
    await call(port, '/actuator/logger', { method: 'POST', body: JSON.stringify({ component: 'dapr.runtime.http', level: 'info' }) });
    expect((await missing('again')).status).toBe(400);
    await fetch(`http://127.0.0.1:${sc!.httpPort}/v1.0/healthz`); // a later request: its log lines come after
    expect(debugLines()).toHaveLength(1);
  });

  run('refuses a bad logger request with a reason', async () => {
    const r = await call(port, '/actuator/logger', { method: 'POST', body: '{"component":"dapr.runtime","level":"loud"}' });
    expect(r.status).toBe(500);
    expect(r.body.error).toMatch(/level must be one of/);
  });

  run("writes every log line as one JSON object with daprd's fields", () => {
    const lines = sc!.output().split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) {
      expect(line.match(/"scope":/g)).toHaveLength(1);
      const rec = JSON.parse(line);
      expect(rec).toMatchObject({ type: 'log', app_id: 'compat-app', instance: expect.any(String), ver: expect.any(String), msg: expect.any(String) });
      expect(['debug', 'info', 'warn', 'error', 'fatal']).toContain(rec.level);
      expect(rec.scope).toMatch(/^dapr\./);
      expect(new Date(rec.time).toISOString()).toBe(rec.time);
    }
    expect(jsonLines(sc!).some((r) => r.scope === 'dapr.runtime.actuator' && String(r.msg).startsWith('log level of dapr.runtime.http set to debug'))).toBe(true);
  });
});

describe('actuator readiness over every kind of backend', () => {
  // One component per ping implementation, on the machine's shared services (nothing is written
  // beyond the tables the components create at init).
  const BACKENDS: { service: [string, number]; name: string; type: string; metadata: Record<string, string> }[] = [
    { service: ['redis', 6379], name: 'pubsub-redis', type: 'pubsub.redis', metadata: { redisHost: '127.0.0.1:6379', consumerID: 'actuator' } },
    { service: ['redis', 6379], name: 'lock-redis', type: 'lock.redis', metadata: { redisHost: '127.0.0.1:6379' } },
    { service: ['redis', 6379], name: 'seq-redis', type: 'sequencer.redis', metadata: { redisHost: '127.0.0.1:6379' } },
    { service: ['redis', 6379], name: 'conf-redis', type: 'configuration.redis', metadata: { redisHost: '127.0.0.1:6379' } },
    { service: ['postgresql', 5432], name: 'seq-pg', type: 'sequencer.postgresql', metadata: { connectionString: 'host=127.0.0.1 port=5432 user=postgres dbname=test sslmode=disable' } },
    { service: ['mysql', 3306], name: 'seq-mysql', type: 'sequencer.mysql', metadata: { connectionString: 'root:@tcp(127.0.0.1:3306)/test' } },
    { service: ['rabbitmq', 5672], name: 'pubsub-rabbit', type: 'pubsub.rabbitmq', metadata: { connectionString: 'amqp://guest:guest@127.0.0.1:5672', consumerID: 'actuator' } },
    { service: ['mosquitto', 1883], name: 'pubsub-mqtt', type: 'pubsub.mqtt3', metadata: { url: 'tcp://127.0.0.1:1883', consumerID: 'actuator' } },
    { service: ['nats', 4222], name: 'pubsub-nats', type: 'pubsub.jetstream', metadata: { natsURL: 'nats://127.0.0.1:4222', consumerID: 'actuator' } },
  ];
  let sc: Sidecar | undefined;
  afterAll(() => sc?.stop());

  it('lists each component as <kind>-<name>, UP', async () => {
    const up: typeof BACKENDS = [];
    const seen = new Map<string, boolean>();
    for (const b of BACKENDS) {
      const key = b.service.join(':');
      if (!seen.has(key)) seen.set(key, await requireService(b.service[0], '127.0.0.1', b.service[1]));
      if (seen.get(key)) up.push(b);
    }
    if (up.length === 0) return;
    const port = await freePort();
    sc = await startSidecar({ resources: Object.fromEntries(up.map((b) => [`${b.name}.yaml`, componentYaml(b.name, b.type, b.metadata)])), args: ['--actuator-port', String(port)] });
    const r = await call(port, '/actuator/health/readiness');
    const kind = (type: string) => type.split('.')[0];
    expect(r.body.components).toEqual({
      runtime_startup: { status: 'UP', details: { reason: '' } },
      ...Object.fromEntries(up.map((b) => [`${kind(b.type)}-${b.name}`, { status: 'UP' }])),
    });
    expect(r.status).toBe(200);
  }, SLOW);
});

describe('actuator while the app is not listening yet', () => {
  let sc: Sidecar | undefined;
  afterAll(() => sc?.stop());

  it('answers liveness UP but readiness INIT (503) until the runtime is ready', async () => {
    const [port, appPort] = await Promise.all([freePort(), freePort()]);
    sc = await startSidecar({ args: ['--actuator-port', String(port), '--app-port', String(appPort)], wait: false });
    await until(async () => (await call(port, '/actuator/health/liveness').catch(() => undefined))?.status === 200, () => `liveness 200:\n${sc!.output()}`, 60_000);
    expect(await call(port, '/actuator/health/readiness')).toEqual({
      status: 503,
      type: 'application/json',
      body: { status: 'INIT', components: { runtime_startup: { status: 'INIT', details: { reason: 'starting' } } } },
    });
  }, SLOW);
});

describe('actuator port', () => {
  it('--actuator-port 0 turns the actuator off', async () => {
    const sc = await startSidecar();
    try {
      expect(sc.output()).not.toMatch(/Actuator is running/);
    } finally {
      await sc.stop();
    }
  }, SLOW);
});
