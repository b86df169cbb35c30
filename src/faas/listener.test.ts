// The functions port and invocation by function id, against a scripted FunctionHost: what a
// function receives, how its answer is written, and every failure as a clear status.
import type { Server } from 'node:http';
import { Readable } from 'node:stream';
import { ScriptedHost, text } from '../../test/function-host';
import { ComponentStore } from '../components/store';
import { InvokeCore } from '../core/invoke';
import { listen } from './http-io';
import { functionLookup } from './invoker';
import { functionsHandler } from './listener';
import { FunctionError } from './types';

const host = new ScriptedHost({
  '/echo.wasm': (req) => ({ status: 201, headers: [['x-seen', `${req.method} ${req.path}`], ['content-length', '999'], ['x-multi', 'a'], ['x-multi', 'b']], body: Buffer.concat([Buffer.from(`${req.headers.find(([k]) => k === 'x-in')?.[1] ?? '-'}:`), req.body]) }),
  '/trap.wasm': () => {
    throw new FunctionError('trap', 'function trap trapped: unreachable');
  },
  '/slow.wasm': () => {
    throw Object.assign(new Error('function slow ran past 100 ms'), { kind: 'timeout' });
  },
  '/text.wasm': () => text('hi'),
});

let server: Server;
let base: string;
beforeAll(async () => {
  for (const id of ['echo', 'trap', 'slow', 'text']) await host.install({ id, path: `/${id}.wasm`, instances: 1 });
  server = await listen(functionsHandler(host, { maxBodySize: 1024 }), 0, '127.0.0.1');
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('functions port', () => {
  it('hands the request to the function named by the id header and writes its answer', async () => {
    const r = await fetch(`${base}/orders?name=book1`, { method: 'POST', headers: { id: 'echo', 'x-in': 'v' }, body: 'payload' });
    expect(r.status).toBe(201);
    expect(r.headers.get('x-seen')).toBe('POST /orders?name=book1');
    expect(r.headers.get('x-multi')).toBe('a, b');
    expect(await r.text()).toBe('v:payload'); // the function's wrong content-length is not sent
  });

  it('answers a missing or unknown id, a failing call and a too large body with clear errors', async () => {
    const call = async (headers: Record<string, string>, body?: string) => {
      const r = await fetch(base, { method: 'POST', headers, body });
      return { status: r.status, body: await r.json() };
    };
    expect(await call({})).toEqual({ status: 400, body: { error: 'missing header "id": it names the function to call' } });
    expect(await call({ id: 'nope' })).toEqual({ status: 404, body: { error: 'function nope is not installed', kind: 'not_found' } });
    expect(await call({ id: 'trap' })).toEqual({ status: 500, body: { error: 'function trap trapped: unreachable', kind: 'trap' } });
    expect(await call({ id: 'slow' })).toEqual({ status: 504, body: { error: 'function slow ran past 100 ms', kind: 'timeout' } });
    expect(await call({ id: 'echo' }, 'x'.repeat(2000))).toEqual({ status: 413, body: { error: 'request body larger than 1024 bytes' } });
    expect((await fetch(base, { headers: { id: 'text' } })).status).toBe(200);
  });
});

describe('invocation by function id', () => {
  const core = new InvokeCore({ components: new ComponentStore(), appId: 'me', namespace: '', runtimeVersion: 'test' });
  core.setLocalFunctions(functionLookup(host));
  const invoke = (appId: string, method: string, body = '') =>
    core.invoke({ appId, method, verb: 'PUT', query: 'q=1', headers: { 'x-in': ['h'] }, contentType: 'text/plain', body: Readable.from([Buffer.from(body)]), length: body.length });

  it('reaches the function with the method as its path and answers as an app would', async () => {
    const res = await invoke('echo', 'check/stock', 'book1');
    expect(res.status).toBe(201);
    expect(res.headers['x-seen']).toEqual(['PUT /check/stock?q=1']);
    expect(Buffer.concat(await res.body.toArray()).toString()).toBe('h:book1');
    expect(host.calls.at(-1)!.req.headers).toContainEqual(['content-type', 'text/plain']);
  });

  it('reports a failed call as ERR_DIRECT_INVOKE with the reason; other ids are not functions', async () => {
    await expect(invoke('trap', 'm')).rejects.toMatchObject({ message: 'failed to invoke, id: trap, err: function trap trapped: unreachable' });
    await expect(invoke('other-app', 'm')).rejects.toMatchObject({ message: expect.stringContaining("couldn't find service: other-app") });
  });
});
