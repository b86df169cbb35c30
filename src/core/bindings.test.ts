import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpOutputBinding } from '../components/bindings/http';
import { LocalStorageBinding } from '../components/bindings/localstorage';
import type { Binding } from '../components/bindings/types';
import { ComponentStore } from '../components/store';
import type { ComponentMetadata } from '../components/types';
import { createCore } from '.';
import { OutputBindingError } from './bindings';

const APP = { protocol: 'http', channelAddress: '127.0.0.1' };

let server: Server;
let seen: IncomingHttpHeaders = {};
let port = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    seen = req.headers;
    res.setHeader('x-answer', 'teapot');
    res.statusCode = req.url === '/fail' ? 418 : 200;
    res.end('body');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
const opened: Binding[] = [];
afterAll(async () => {
  await Promise.all(opened.map((b) => b.close()));
  await new Promise<void>((r) => server.close(() => r()));
});

async function core() {
  const components = new ComponentStore();
  const add = async (name: string, type: string, instance: Binding, properties: Record<string, string>) => {
    const meta: ComponentMetadata = { name, type, version: 'v1', properties, appId: 'x', namespace: '' };
    await instance.init(meta);
    opened.push(instance);
    components.add({ kind: 'bindings', name, meta, instance, capabilities: [] });
  };
  const root = mkdtempSync(join(tmpdir(), 'core-bindings-'));
  await add('files', 'bindings.localstorage', new LocalStorageBinding(), { rootPath: root });
  await add('inbound', 'bindings.localstorage', new LocalStorageBinding(), { rootPath: root, direction: 'input' });
  await add('web', 'bindings.http', new HttpOutputBinding(), { url: `http://127.0.0.1:${port}` });
  return createCore({ components, appId: 'x', namespace: '', runtimeVersion: 't' }, APP).bindings;
}

async function failure(p: Promise<unknown>): Promise<OutputBindingError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(OutputBindingError);
  return e as OutputBindingError;
}

const req = (name: string, operation: string, metadata: Record<string, string> = {}) => ({ name, operation, data: Buffer.from('"aGk="'), metadata });

describe('BindingsCore', () => {
  it('invokes an output binding; no response is undefined', async () => {
    const b = await core();
    const created = await b.invoke(req('files', 'create', { fileName: 'a.txt' }));
    expect(created?.data.toString()).toBe('{"fileName":"a.txt"}');
    expect((await b.invoke(req('files', 'get', { fileName: 'a.txt' })))?.data.toString()).toBe('hi');
    expect(await b.invoke(req('files', 'delete', { fileName: 'a.txt' }))).toBeUndefined();
  });

  it("refuses as daprd: no operation, unknown or input-only binding, unsupported operation (all ERR_INVOKE_OUTPUT_BINDING 500)", async () => {
    const b = await core();
    const none = await failure(b.invoke(req('files', '')));
    expect(none.message).toBe('error invoking output binding files: operation field is missing from request');
    expect(none.code).toBe('ERR_INVOKE_OUTPUT_BINDING');
    expect(none.row.http).toBe(500);
    expect((await failure(b.invoke(req('nope', 'get')))).message).toBe("error invoking output binding nope: couldn't find output binding nope");
    expect((await failure(b.invoke(req('inbound', 'get')))).message).toBe("error invoking output binding inbound: couldn't find output binding inbound");
    expect((await failure(b.invoke(req('files', 'exec')))).message).toBe(
      'error invoking output binding files: binding files does not support operation exec. supported operations:create get list delete',
    );
    expect(none.layottoMessage()).toBe('error when invoke output binding files: operation field is missing from request');
  });

  it('adds trace context: the caller’s when valid, else a new one', async () => {
    const b = await core();
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await b.invoke({ ...req('web', 'get'), traceparent: tp, tracestate: 'a=b', baggage: 'k=v' });
    expect(seen).toMatchObject({ traceparent: tp, tracestate: 'a=b', baggage: 'k=v' });
    await b.invoke({ ...req('web', 'get'), traceparent: 'garbage' });
    expect(seen.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    expect(seen.traceparent).not.toBe(tp);
  });

  it('keeps the response metadata of a failed call', async () => {
    const b = await core();
    const e = await failure(b.invoke(req('web', 'get', { path: 'fail' })));
    expect(e.message).toBe('error invoking output binding web: received status code 418');
    expect(e.responseMetadata).toMatchObject({ statusCode: '418', status: "418 I'm a Teapot", 'X-Answer': 'teapot' });
  });
});
