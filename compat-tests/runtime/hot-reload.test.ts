// Hot reload of components against the built binary: a Redis state store file added while
// requests run against an in-memory store (none fails; the new store serves within seconds), a
// component changed while a slow call holds it (the call finishes on the old instance, the next
// ones reach the new), a file deleted (the store is gone, daprd's 400 ERR_STATE_STORE_NOT_FOUND),
// and bad edits (YAML syntax, unknown type, init failing against a closed port) that leave the old
// component serving with the file and the reason logged.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireService } from '../../test/services';
import { sleep, until } from '../../test/wait';
import { PlainApp } from '../helpers/invoke';
import { componentYaml, freePort, type Sidecar, startSidecar } from '../helpers/sidecar';

const run = `${Date.now().toString(36)}-${process.pid}`;
const REDIS = { redisHost: '127.0.0.1:6379' };

let sc: Sidecar;
let redis = false;
const slowTarget = new PlainApp();
const fastTarget = new PlainApp();

const url = (path: string) => `http://127.0.0.1:${sc.httpPort}${path}`;
const save = (store: string, key: string, value: unknown) => fetch(url(`/v1.0/state/${store}`), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ key, value }]) });
const get = (store: string, key: string) => fetch(url(`/v1.0/state/${store}/${key}`));
/** Writes a resource file the way editors save: a temporary file renamed over the old one. */
function saveResource(name: string, content: string): void {
  const tmp = join(sc.resourcesDir!, `.${name}.swp`);
  writeFileSync(tmp, content);
  renameSync(tmp, join(sc.resourcesDir!, name));
}
/** Waits until the log has `text` after position `from` (the log so far when the edit was made). */
const logged = (from: number, text: string, ms = 15000) => until(() => sc.output().slice(from).includes(text), () => `log line "${text}" after the edit; log since:\n${sc.output().slice(from)}`, ms);

beforeAll(async () => {
  redis = await requireService('redis', '127.0.0.1', 6379);
  await slowTarget.start();
  slowTarget.script = (s, res) => void sleep(s.url.includes('slow') ? 1500 : 0).then(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ target: 'slow', url: s.url })));
  await fastTarget.start();
  fastTarget.script = (s, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ target: 'fast', url: s.url }));
  sc = await startSidecar({
    appId: 'hot-reload',
    resources: {
      'mem.yaml': componentYaml('mem', 'state.in-memory'),
      'web.yaml': componentYaml('web', 'bindings.http', { url: slowTarget.url }),
    },
  });
});

afterAll(async () => {
  await sc?.stop();
  await slowTarget.stop();
  await fastTarget.stop();
});

it('a Redis state store added while requests run against the in-memory one: no request fails, the new store serves within seconds', async () => {
  if (!redis) return;
  let stop = false;
  const failures: string[] = [];
  let requests = 0;
  const loop = async (n: number) => {
    for (let i = 0; !stop; i++) {
      const key = `k${n}-${i}`;
      const s = await save('mem', key, i);
      const g = await get('mem', key);
      requests += 2;
      if (s.status !== 204 || g.status !== 200) failures.push(`${s.status} ${g.status} ${await g.text()}`);
    }
  };
  const loops = [loop(1), loop(2), loop(3)];
  await sleep(200);
  expect(((await (await get('cache', 'x')).json()) as { errorCode: string }).errorCode).toBe('ERR_STATE_STORE_NOT_FOUND');
  const from = sc.output().length;
  const added = Date.now();
  saveResource('redis.yaml', componentYaml('cache', 'state.redis', REDIS));
  await until(async () => (await save('cache', `hot-${run}`, 'from redis')).status === 204, () => 'the Redis store to serve');
  const tookMs = Date.now() - added;
  expect(await (await get('cache', `hot-${run}`)).json()).toBe('from redis');
  await sleep(300);
  stop = true;
  await Promise.all(loops);
  expect(failures).toEqual([]);
  expect(requests).toBeGreaterThan(20);
  expect(tookMs).toBeLessThan(10_000);
  expect(sc.output().slice(from)).toMatch(/Detected Component has been created: cache \(state\.redis\) in .*redis\.yaml/);
  expect(sc.output().slice(from)).toContain('component loaded: cache (state.redis/v1)');
  const metrics = await (await fetch(`http://127.0.0.1:${sc.metricsPort}/metrics`)).text();
  expect(metrics).toMatch(/dapr_runtime_component_loaded\{app_id="hot-reload"\} 3/);
});

it('a changed component swaps in after its init: a slow call in flight finishes on the old one, the next calls reach the new one', async () => {
  const call = (path: string) => fetch(url('/v1.0/bindings/web'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ operation: 'get', metadata: { path } }) });
  const slow = call('/slow');
  await until(() => slowTarget.seen.some((s) => s.url === '/slow'), () => 'the slow call to reach its target');
  const from = sc.output().length;
  saveResource('web.yaml', componentYaml('web', 'bindings.http', { url: fastTarget.url }));
  await logged(from, 'component updated: web (bindings.http/v1)');
  const after = await call('/after');
  expect(after.status).toBe(200);
  expect(await after.json()).toEqual({ target: 'fast', url: '/after' });
  const inFlight = await slow;
  expect(inFlight.status).toBe(200);
  expect(await inFlight.json()).toEqual({ target: 'slow', url: '/slow' });
});

it('a deleted file takes its component away: 400 ERR_STATE_STORE_NOT_FOUND, as daprd answers for an unknown store', async () => {
  saveResource('gone.yaml', componentYaml('gone', 'state.in-memory'));
  await until(async () => (await save('gone', 'k', 1)).status === 204, () => 'the new store to serve');
  const from = sc.output().length;
  rmSync(join(sc.resourcesDir!, 'gone.yaml'));
  await logged(from, 'component removed: gone (state.in-memory/v1)');
  const r = await get('gone', 'k');
  expect(r.status).toBe(400);
  expect(((await r.json()) as { errorCode: string }).errorCode).toBe('ERR_STATE_STORE_NOT_FOUND');
});

describe('a bad edit is rejected and the old component keeps serving', () => {
  beforeAll(async () => {
    expect((await save('mem', 'kept', 'yes')).status).toBe(204);
  });
  const stillServing = async () => {
    const r = await get('mem', 'kept');
    expect(r.status).toBe(200);
    expect(await r.json()).toBe('yes');
  };

  it('YAML that does not parse: the file and line are logged, the whole file stays as it was', async () => {
    const from = sc.output().length;
    saveResource('mem.yaml', 'apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: mem\n spec: [\n');
    await logged(from, 'mem.yaml:5: YAML syntax error');
    expect(sc.output().slice(from)).toContain('the resources of');
    await stillServing();
  });

  it('an unknown component type', async () => {
    const from = sc.output().length;
    saveResource('mem.yaml', componentYaml('mem', 'state.nosuch'));
    await logged(from, 'component mem not updated, the running one keeps serving');
    expect(sc.output().slice(from)).toMatch(/mem\.yaml:\d+: spec\.type: couldn't find component type state\.nosuch\/v1/);
    await stillServing();
  });

  it('a new instance whose init fails (Redis on a closed port): the old one serves on', async () => {
    const closed = await freePort();
    const from = sc.output().length;
    saveResource('mem.yaml', componentYaml('mem', 'state.redis', { redisHost: `127.0.0.1:${closed}` }) + '  initTimeout: 2s\n');
    await logged(from, 'component mem not updated, the running one keeps serving');
    expect(sc.output().slice(from)).toMatch(/mem\.yaml:\d+: spec: component mem \(state\.redis\/v1\) failed to initialize/);
    await stillServing();
    // Put right again: the in-memory store is a new instance (its data starts empty).
    const back = sc.output().length;
    saveResource('mem.yaml', componentYaml('mem', 'state.in-memory'));
    await logged(back, 'component updated: mem (state.in-memory/v1)');
    expect((await get('mem', 'kept')).status).toBe(204);
  });
});
