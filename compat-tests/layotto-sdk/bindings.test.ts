// Output bindings on the built sidecar's Layotto API through the real `layotto` Node SDK
// (Client.binding.invoke): bindings.http and bindings.localstorage, Layotto's Internal status and
// "error when invoke output binding" text for failures, and a bindings.redis whose server (a
// redis-server of the test's own) goes away and comes back while the sidecar keeps serving.
import { bindingSetup, type BindingSetup, httpTarget } from '../helpers/output-bindings';
import { findBinary, PrivateServer } from '../helpers/private-server';
import { componentYaml, freePort, type Sidecar, startSidecar } from '../helpers/sidecar';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Client } = require('layotto') as typeof import('layotto');

const INTERNAL = 13;
const text = (d: Uint8Array) => Buffer.from(d).toString();

async function failure(p: Promise<unknown>): Promise<{ code?: number; details?: string }> {
  const e = await p.then(() => undefined, (x: { code?: number; details?: string }) => x);
  if (!e) throw new Error('expected the call to fail');
  return e;
}

describe('Layotto SDK InvokeBinding on the built sidecar', () => {
  const target = httpTarget();
  const redisBinary = findBinary('redis-server', 'the Layotto binding tests with a stopped Redis');
  let redis: PrivateServer | undefined;
  let setup: BindingSetup;
  let sc: Sidecar;
  let client: InstanceType<typeof Client>;

  beforeAll(async () => {
    await target.start();
    setup = await bindingSetup(target);
    const resources = { ...setup.resources };
    if (redisBinary) {
      const port = await freePort();
      redis = new PrivateServer({ name: 'redis', binary: redisBinary, port, args: (dir) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir] });
      await redis.start();
      resources['flaky.yaml'] = componentYaml('flaky', 'bindings.redis', { redisHost: `127.0.0.1:${port}`, redisMaxRetries: '0', readTimeout: '2s' });
    }
    sc = await startSidecar({ resources });
    client = new Client(String(sc.layottoPort), '127.0.0.1');
  });
  afterAll(async () => {
    client?.close();
    await sc?.stop();
    await redis?.remove();
    await target.stop();
  });

  it('bindings.http: the operation is the method, the data goes as sent, the answer and its metadata come back', async () => {
    const res = await client.binding.invoke({ name: 'web', operation: 'post', data: 'raw bytes', metadata: { path: 'layotto' } });
    expect(target.last()).toMatchObject({ method: 'POST', url: '/base/layotto', text: 'raw bytes' });
    expect(JSON.parse(text(res.data))).toEqual({ method: 'POST', url: '/base/layotto', body: 'raw bytes' });
    expect(res.metadata).toMatchObject({ statusCode: '200', 'X-Target': 'yes' });
  });

  it("failures are Internal with Layotto's text", async () => {
    const e = await failure(client.binding.invoke({ name: 'web', operation: 'get', data: '', metadata: { path: 'status/404' } }));
    expect(e.code).toBe(INTERNAL);
    expect(e.details).toBe('error when invoke output binding web: received status code 404');
    const unknown = await failure(client.binding.invoke({ name: 'nope', operation: 'create', data: 'x', metadata: {} }));
    expect(unknown).toMatchObject({ code: INTERNAL, details: "error when invoke output binding nope: couldn't find output binding nope" });
    const down = await failure(client.binding.invoke({ name: 'down', operation: 'get', data: '', metadata: {} }));
    expect(down.details).toMatch(/^error when invoke output binding down: Get "http:\/\/127\.0\.0\.1:\d+": dial tcp 127\.0\.0\.1:\d+: connect: connection refused$/);
  });

  it('bindings.localstorage: create and get; an escaping fileName is refused', async () => {
    const created = await client.binding.invoke({ name: 'files', operation: 'create', data: 'from layotto', metadata: { fileName: 'l.txt' } });
    expect(text(created.data)).toBe('{"fileName":"l.txt"}');
    expect(text((await client.binding.invoke({ name: 'files', operation: 'get', data: '', metadata: { fileName: 'l.txt' } })).data)).toBe('from layotto');
    const e = await failure(client.binding.invoke({ name: 'files', operation: 'get', data: '', metadata: { fileName: '../../../etc/passwd' } }));
    expect(e.details).toBe('error when invoke output binding files: error getting absolute path for file ../../../etc/passwd: path escapes rootPath');
  });

  it('bindings.redis whose server stops: clear errors, the sidecar keeps serving, and it works again once Redis is back', async () => {
    if (!redis) return;
    const put = (v: string) => client.binding.invoke({ name: 'flaky', operation: 'create', data: v, metadata: { key: 'k' } });
    await put('one');
    await redis.stop();
    const e = await failure(put('two'));
    expect(e.code).toBe(INTERNAL);
    expect(e.details).toMatch(/^error when invoke output binding flaky: redis binding: error connecting to redis at 127\.0\.0\.1:\d+: /);
    // Other bindings are unaffected.
    expect((await client.binding.invoke({ name: 'web', operation: 'get', data: '', metadata: {} })).metadata.statusCode).toBe('200');
    await redis.start();
    let got = '';
    for (let i = 0; i < 50 && got !== 'three'; i++) {
      await put('three').catch(() => new Promise((r) => setTimeout(r, 200)));
      got = await client.binding
        .invoke({ name: 'flaky', operation: 'get', data: '', metadata: { key: 'k' } })
        .then((r) => text(r.data))
        .catch(() => '');
    }
    expect(got).toBe('three');
  });
});
