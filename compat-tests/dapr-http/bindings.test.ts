// Output bindings on the built sidecar over Dapr HTTP, through the real @dapr/dapr DaprClient
// (client.binding.send) and raw fetch where the SDK hides the wire (metadata.* headers, 204s):
// bindings.http against a node:http target, bindings.localstorage in a temp dir, bindings.redis
// and bindings.postgres against the machine's servers; daprd's errors for bad input and a target
// that is down, with the sidecar still serving afterwards.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr';
import { Redis } from 'ioredis';
import { bindingSetup, type BindingSetup, httpTarget } from '../helpers/output-bindings';
import { type Sidecar, startSidecar } from '../helpers/sidecar';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** The SDK's HTTP error: {"error", "error_msg": <daprd's body>, "status"}. */
async function sdkFailure(p: Promise<unknown>): Promise<{ status: number; body: { errorCode: string; message: string } }> {
  const e = await p.then(() => undefined, (x: Error) => x);
  if (!e) throw new Error('expected the call to fail');
  const parsed = JSON.parse(e.message) as { status: number; error_msg: string };
  return { status: parsed.status, body: JSON.parse(parsed.error_msg) };
}

describe('Dapr HTTP output bindings via @dapr/dapr SDK', () => {
  const target = httpTarget();
  let setup: BindingSetup;
  let sc: Sidecar;
  let client: DaprClient;
  let base = '';
  const post = (name: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}/v1.0/bindings/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  beforeAll(async () => {
    await target.start();
    setup = await bindingSetup(target);
    sc = await startSidecar({ resources: setup.resources });
    base = `http://127.0.0.1:${sc.httpPort}`;
    client = new DaprClient({ daprHost: '127.0.0.1', daprPort: String(sc.httpPort), communicationProtocol: CommunicationProtocolEnum.HTTP, logger: { level: LogLevel.Error } });
  });
  afterAll(async () => {
    await client?.stop().catch(() => undefined);
    await sc?.stop();
    await target.stop();
  });

  describe('bindings.http', () => {
    it('sends the operation as the method with data re-marshalled as JSON; the answer is the body', async () => {
      const res = await client.binding.send('web', 'post', { b: 2, a: '<1>' }, { path: 'items', 'X-Custom': 'yes' });
      expect(target.last()).toMatchObject({ method: 'POST', url: '/base/items', text: '{"a":"\\u003c1\\u003e","b":2}' });
      expect(target.last().headers).toMatchObject({ 'x-custom': 'yes', 'content-type': 'application/json; charset=utf-8' });
      expect(target.last().headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
      expect(res).toEqual({ method: 'POST', url: '/base/items', body: '{"a":"\\u003c1\\u003e","b":2}' });
      // A JSON string reaches the binding with its quotes.
      await client.binding.send('web', 'put', 'text');
      expect(target.last()).toMatchObject({ method: 'PUT', text: '"text"' });
    });

    it("answers 200 with the body and the binding's metadata as metadata.* headers; the caller's traceparent travels", async () => {
      const res = await post('web', { operation: 'get', metadata: { path: 'x' } }, { traceparent: TRACEPARENT });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(res.headers.get('metadata.statuscode')).toBe('200');
      expect(res.headers.get('metadata.status')).toBe('200 OK');
      expect(res.headers.get('metadata.x-target')).toBe('yes');
      expect(await res.json()).toEqual({ method: 'GET', url: '/base/x', body: '' });
      expect(target.last().headers.traceparent).toBe(TRACEPARENT);
    });

    it('a status >= 400 is ERR_INVOKE_OUTPUT_BINDING 500, still with the metadata headers', async () => {
      const f = await sdkFailure(client.binding.send('web', 'get', undefined, { path: 'status/404' }));
      expect(f).toEqual({ status: 500, body: { errorCode: 'ERR_INVOKE_OUTPUT_BINDING', message: 'error invoking output binding web: received status code 404' } });
      const raw = await post('web', { operation: 'get', metadata: { path: 'status/503' } });
      expect(raw.status).toBe(500);
      expect(raw.headers.get('metadata.statuscode')).toBe('503');
      expect(raw.headers.get('metadata.x-target')).toBe('yes');
    });

    it('a target that is down: ERR_INVOKE_OUTPUT_BINDING with Go\'s dial error; the sidecar keeps serving', async () => {
      const f = await sdkFailure(client.binding.send('down', 'create', { a: 1 }));
      expect(f.status).toBe(500);
      expect(f.body.errorCode).toBe('ERR_INVOKE_OUTPUT_BINDING');
      expect(f.body.message).toMatch(/^error invoking output binding down: Post "http:\/\/127\.0\.0\.1:\d+": dial tcp 127\.0\.0\.1:\d+: connect: connection refused$/);
      expect((await fetch(`${base}/v1.0/healthz`)).status).toBe(204);
      expect(await client.binding.send('web', 'get', undefined)).toMatchObject({ method: 'GET' });
    });
  });

  describe('bindings.localstorage', () => {
    it('create (base64 data decoded), get, list, delete (204)', async () => {
      expect(await client.binding.send('files', 'create', Buffer.from('hello').toString('base64'), { fileName: 'dir/a.txt' })).toEqual({ fileName: 'dir/a.txt' });
      expect(await client.binding.send('files', 'get', undefined, { fileName: 'dir/a.txt' })).toBe('hello');
      expect(await client.binding.send('files', 'list', undefined)).toEqual([join(setup.root, 'dir/a.txt')]);
      const del = await post('files', { operation: 'delete', metadata: { fileName: 'dir/a.txt' } });
      expect(del.status).toBe(204);
      expect(existsSync(join(setup.root, 'dir/a.txt'))).toBe(false);
      const f = await sdkFailure(client.binding.send('files', 'get', undefined, { fileName: 'dir/a.txt' }));
      expect(f.body.message).toBe(`error invoking output binding files: file not found: ${join(setup.root, 'dir/a.txt')}`);
    });

    it('refuses a fileName that leaves rootPath', async () => {
      for (const fileName of ['../escape.txt', '/etc/passwd', 'a/../../escape.txt']) {
        const f = await sdkFailure(client.binding.send('files', 'create', 'x', { fileName }));
        expect(f.status).toBe(500);
        expect(f.body.errorCode).toBe('ERR_INVOKE_OUTPUT_BINDING');
        expect(f.body.message).toContain(`error getting absolute path for file ${fileName}:`);
      }
      expect(existsSync(join(setup.root, '..', 'escape.txt'))).toBe(false);
    });
  });

  describe('bindings.redis', () => {
    const key = `compat-binding-${randomUUID()}`;
    let redis: Redis;
    beforeAll(() => {
      if (setup.redis) redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
    });
    afterAll(async () => {
      if (!redis) return;
      await redis.del(key, `${key}-n`);
      redis.disconnect();
    });

    it('create with ttlInSeconds (204), get, increment, delete; a missing key is an empty 200', async () => {
      if (!setup.redis) return;
      const created = await post('cache', { operation: 'create', data: { v: 1 }, metadata: { key, ttlInSeconds: '100' } });
      expect(created.status).toBe(204);
      expect(await redis.get(key)).toBe('{"v":1}');
      expect(await redis.ttl(key)).toBeGreaterThan(90);
      expect(await client.binding.send('cache', 'get', undefined, { key })).toEqual({ v: 1 });
      await client.binding.send('cache', 'increment', undefined, { key: `${key}-n` });
      await client.binding.send('cache', 'increment', undefined, { key: `${key}-n` });
      expect(await client.binding.send('cache', 'get', undefined, { key: `${key}-n` })).toBe(2);
      await client.binding.send('cache', 'delete', undefined, { key });
      const missing = await post('cache', { operation: 'get', metadata: { key } });
      expect(missing.status).toBe(200);
      expect(await missing.text()).toBe('');
    });

    it('a missing key or a bad TTL is ERR_INVOKE_OUTPUT_BINDING', async () => {
      if (!setup.redis) return;
      expect((await sdkFailure(client.binding.send('cache', 'create', 1))).body.message).toBe('error invoking output binding cache: redis binding: missing key in request metadata');
      expect((await sdkFailure(client.binding.send('cache', 'create', 1, { key, ttlInSeconds: 'soon' }))).body.message).toBe(
        "error invoking output binding cache: ttlInSeconds value must be a valid integer: actual is 'soon'",
      );
    });
  });

  describe('bindings.postgres', () => {
    const table = `compat_binding_${randomUUID().replaceAll('-', '')}`;

    it('exec answers rows-affected, query answers rows as arrays; close makes later calls fail', async () => {
      if (!setup.postgres) return;
      await client.binding.send('db', 'exec', undefined, { sql: `CREATE TABLE ${table} (id int8, name text, doc jsonb, at timestamptz)` });
      const ins = await post('db', { operation: 'exec', metadata: { sql: `INSERT INTO ${table} VALUES ($1, $2, $3, '2024-01-02T03:04:05.5Z'), (9007199254740993, 'b', null, null)`, params: '[1, "a", {"k": [1]}]' } });
      expect(ins.status).toBe(200);
      expect(ins.headers.get('metadata.rows-affected')).toBe('2');
      expect(ins.headers.get('metadata.operation')).toBe('exec');
      expect(ins.headers.get('metadata.duration')).toMatch(/^[\d.]+(ns|µs|ms|s)$/);
      const q = await post('db', { operation: 'query', metadata: { sql: `SELECT id, name, doc, at FROM ${table} ORDER BY id` } });
      expect(await q.text()).toBe('[[1,"a",{"k":[1]},"2024-01-02T03:04:05.5Z"],[9007199254740993,"b",null,null]]');
      const bad = await sdkFailure(client.binding.send('db', 'query', undefined, { sql: 'SELECT * FROM no_such_table_here' }));
      expect(bad.body.message).toBe('error invoking output binding db: error executing query: ERROR: relation "no_such_table_here" does not exist (SQLSTATE 42P01)');
      await client.binding.send('db', 'exec', undefined, { sql: `DROP TABLE ${table}` });
      expect((await post('db', { operation: 'close' })).status).toBe(204);
      expect((await sdkFailure(client.binding.send('db', 'query', undefined, { sql: 'SELECT 1' }))).body.message).toBe('error invoking output binding db: component is closed');
    });
  });

  describe('bad input', () => {
    it('unknown binding, unsupported or missing operation: 500 ERR_INVOKE_OUTPUT_BINDING with daprd\'s texts', async () => {
      expect(await sdkFailure(client.binding.send('nope', 'create', 1))).toEqual({
        status: 500,
        body: { errorCode: 'ERR_INVOKE_OUTPUT_BINDING', message: "error invoking output binding nope: couldn't find output binding nope" },
      });
      expect((await sdkFailure(client.binding.send('files', 'exec', 1))).body.message).toBe(
        'error invoking output binding files: binding files does not support operation exec. supported operations:create get list delete',
      );
      expect((await sdkFailure(client.binding.send('files', '', 1))).body.message).toBe('error invoking output binding files: operation field is missing from request');
    });

    it('a body that is not the request JSON is 400 ERR_MALFORMED_REQUEST', async () => {
      for (const body of ['{not json', '', '[1,2]', '{"metadata":{"a":1}}']) {
        const res = await post('web', body);
        expect(res.status).toBe(400);
        expect(((await res.json()) as { errorCode: string }).errorCode).toBe('ERR_MALFORMED_REQUEST');
      }
      expect((await fetch(`${base}/v1.0/healthz`)).status).toBe(204);
    });
  });
});
