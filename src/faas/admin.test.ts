import type { Server } from 'node:http';
import { resolve } from 'node:path';
import { ScriptedHost, text } from '../../test/function-host';
import { adminHandler } from './admin';
import { listen } from './http-io';

describe('FaaS admin API (Layotto /wasm/*)', () => {
  let server: Server;
  let host: ScriptedHost;
  const changes: string[] = [];
  const good = resolve('fn/good.wasm');
  const other = resolve('fn/other.wasm');
  const post = async (path: string, body: unknown) => {
    const port = (server.address() as { port: number }).port;
    const r = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  beforeEach(async () => {
    host = new ScriptedHost({ [good]: () => text('ok'), [other]: () => text('other') });
    changes.length = 0;
    server = await listen(adminHandler(host, { onChange: (op, id) => changes.push(`${op} ${id}`) }), 0, '127.0.0.1');
  });
  afterEach(() => new Promise<void>((r) => server.close(() => r())));

  it("installs, updates and uninstalls with Layotto's bodies", async () => {
    expect(await post('/wasm/install', { name: 'id_1', instance_num: 1, vm_config: { engine: 'wasmtime', path: 'fn/good.wasm' }, greeting: 'hi' })).toEqual({ status: 200, body: {} });
    expect(host.installed.get('id_1')).toEqual({ id: 'id_1', path: good, instances: 1, config: { greeting: 'hi' } });
    expect(await post('/wasm/update', { name: 'id_1', instance_num: 2 })).toEqual({ status: 200, body: {} });
    expect(host.installed.get('id_1')?.instances).toBe(2);
    expect(await post('/wasm/update', { name: 'id_1', vm_config: { path: 'fn/other.wasm' }, timeout: '2s', memory_mib: 16 })).toEqual({ status: 200, body: {} });
    expect(host.installed.get('id_1')).toMatchObject({ path: other, instances: 2, limits: { timeoutMs: 2000, memoryMiB: 16 } });
    const port = (server.address() as { port: number }).port;
    expect(await (await fetch(`http://127.0.0.1:${port}/wasm/list`)).json()).toEqual({ functions: [{ id: 'id_1', path: other, instances: 2 }] });
    expect(await post('/wasm/uninstall', { name: 'id_1' })).toEqual({ status: 200, body: {} });
    expect(host.has('id_1')).toBe(false);
    expect(changes).toEqual(['install id_1', 'update id_1', 'update id_1', 'uninstall id_1']);
  });

  it('answers each mistake with a clear error and changes nothing', async () => {
    expect(await post('/wasm/install', '{"name": ')).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^invalid JSON body/) } });
    expect(await post('/wasm/install', { name: 'id_1' })).toEqual({ status: 400, body: { error: 'vm_config: expected an object with "path"' } });
    expect(await post('/wasm/install', { name: 'a b', vm_config: { path: 'x' } })).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^name: must be letters/) } });
    expect(await post('/wasm/install', { name: 'id_1', vm_config: { path: 'fn/good.wasm' }, limit: 3 })).toEqual({ status: 400, body: { error: 'limit: plugin configuration values must be strings' } });
    expect(await post('/wasm/install', { name: 'id_1', vm_config: { path: 'fn/missing.wasm' } })).toEqual({ status: 500, body: { error: expect.stringContaining('cannot compile'), kind: 'load' } });
    expect(await post('/wasm/update', { name: 'nope', instance_num: 2 })).toEqual({ status: 404, body: { error: 'function nope is not installed', kind: 'not_found' } });
    expect(await post('/wasm/update', { name: 'nope' })).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^nothing to update/) } });
    expect(await post('/wasm/uninstall', { name: 'nope' })).toEqual({ status: 404, body: { error: 'function nope is not installed', kind: 'not_found' } });
    expect(await post('/wasm/uninstall', {})).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^name: /) } });
    expect(await post('/wasm/other', {})).toMatchObject({ status: 404 });
    expect(host.installed.size).toBe(0);
    expect(changes).toEqual([]);
    await post('/wasm/install', { name: 'id_1', vm_config: { path: 'fn/good.wasm' } });
    expect(await post('/wasm/install', { name: 'id_1', vm_config: { path: 'fn/other.wasm' } })).toEqual({ status: 409, body: { error: 'function id_1 is already installed; use /wasm/update' } });
    expect(host.installed.get('id_1')?.path).toBe(good);
    const port = (server.address() as { port: number }).port;
    expect((await fetch(`http://127.0.0.1:${port}/wasm/install`)).status).toBe(405);
  });
});
