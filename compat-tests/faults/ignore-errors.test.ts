// Startup with a backend that is down, on the built binary (no shared server is touched: the
// "down" backends are a port nobody listens on, and a TCP proxy that accepts and never answers):
// - without ignoreErrors the sidecar exits 1 with a message naming the component, its type and the
//   backend's reason, and no stack trace;
// - with ignoreErrors it starts (healthz 204, as daprd): the component is not loaded, so
//   /v1.0/metadata does not list it (as daprd) and calls to it answer ERR_STATE_STORE_NOT_FOUND;
//   the actuator's readiness reports it DOWN with the reason, which makes readiness 503;
// - an init that hangs (a partitioned backend) is cut off by spec.initTimeout, named as such.
import { sleep } from '../../test/wait';
import { TcpCut } from '../helpers/tcp-cut';
import { componentYaml, freePort, startSidecar } from '../helpers/sidecar';

const SLOW = 60_000;

const withSpec = (yaml: string, spec: string) => yaml.replace('  version: v1\n', `  version: v1\n${spec}`);

async function json(url: string, init?: RequestInit): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await fetch(url, init);
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

describe('a backend down at startup', () => {
  let downPort = 0;

  beforeAll(async () => {
    downPort = await freePort(); // nobody listens: connections are refused
  });

  it('without ignoreErrors: startup fails naming the component and the backend', async () => {
    const sc = await startSidecar({ resources: { 'cache.yaml': componentYaml('cache', 'state.redis', { redisHost: `127.0.0.1:${downPort}`, dialTimeout: '500ms' }) }, wait: false });
    expect(await sc.exited).toBe(1);
    expect(sc.output()).toMatch(new RegExp(`cache\\.yaml:\\d+: spec: component cache \\(state\\.redis/v1\\) failed to initialize: .*error connecting to redis at 127\\.0\\.0\\.1:${downPort}: .*ECONNREFUSED`));
    expect(sc.output()).not.toMatch(/\n\s+at /);
  }, SLOW);

  it('with ignoreErrors: starts, leaves the component out of metadata, and readiness reports it DOWN with the reason', async () => {
    const actuator = await freePort();
    const sc = await startSidecar({
      resources: {
        'cache.yaml': withSpec(componentYaml('cache', 'state.redis', { redisHost: `127.0.0.1:${downPort}`, dialTimeout: '500ms' }), '  ignoreErrors: true\n'),
        'mq.yaml': withSpec(componentYaml('mq', 'pubsub.rabbitmq', { connectionString: `amqp://guest:guest@127.0.0.1:${downPort}` }), '  ignoreErrors: true\n'),
        'ok.yaml': componentYaml('ok', 'state.in-memory'),
      },
      args: ['--actuator-port', String(actuator)],
    });
    try {
      const base = `http://127.0.0.1:${sc.httpPort}`;
      expect((await fetch(`${base}/v1.0/healthz`)).status).toBe(204);
      const md = await json(`${base}/v1.0/metadata`);
      expect(md.body.components.map((c: { name: string }) => c.name)).toEqual(['ok']);

      const save = await json(`${base}/v1.0/state/cache`, { method: 'POST', body: JSON.stringify([{ key: 'k', value: 1 }]), headers: { 'content-type': 'application/json' } });
      expect(save.status).toBe(400);
      expect(save.body.errorCode).toBe('ERR_STATE_STORE_NOT_FOUND');
      expect((await json(`${base}/v1.0/state/ok`, { method: 'POST', body: JSON.stringify([{ key: 'k', value: 1 }]), headers: { 'content-type': 'application/json' } })).status).toBe(204);

      const ready = await json(`http://127.0.0.1:${actuator}/actuator/health/readiness`);
      expect(ready.status).toBe(503);
      expect(ready.body.status).toBe('DOWN');
      expect(ready.body.components.runtime_startup.status).toBe('UP');
      expect(ready.body.components['state-cache']).toEqual({ status: 'DOWN', details: { reason: expect.stringMatching(new RegExp(`^not loaded \\(init failed; ignoreErrors\\): component cache \\(state\\.redis/v1\\) failed to initialize: .*127\\.0\\.0\\.1:${downPort}`)) } });
      expect(ready.body.components['pubsub-mq']).toEqual({ status: 'DOWN', details: { reason: expect.stringMatching(/rabbitmq pub\/sub: error connecting to amqp:\/\/127\.0\.0\.1:\d+/) } });
      // Liveness is the process's own: a skipped component does not make it restart-worthy.
      expect((await json(`http://127.0.0.1:${actuator}/actuator/health/liveness`)).status).toBe(200);
      expect(sc.output()).toMatch(/ignoring component error \(ignoreErrors\), component cache is not loaded and not retried/);
    } finally {
      await sc.stop();
    }
  }, SLOW);

  it('an init that hangs on a partitioned backend is cut off by initTimeout', async () => {
    const redis = await TcpCut.start({ port: 6379 });
    await redis.stall();
    try {
      const yaml = withSpec(componentYaml('cache', 'state.redis', { redisHost: redis.address }), '  initTimeout: 1s\n');
      const sc = await startSidecar({ resources: { 'cache.yaml': yaml }, wait: false });
      // The process ends by itself once the abandoned dial gives up (dialTimeout, 5 s by default).
      const exit = await Promise.race([sc.exited, sleep(20_000).then(() => 'still running')]);
      await sc.stop('SIGKILL');
      expect(sc.output()).toMatch(/component cache \(state\.redis\/v1\) failed to initialize: init did not finish within 1s/);
      expect(exit).toBe(1);
    } finally {
      await redis.close();
    }
  }, SLOW);
});
