// The Layotto gRPC face on a real grpc-js server over a Core with real in-memory components,
// driven by the real Layotto Node.js SDK (`layotto` on npm) and by a grpc-js client built from our
// own protos for status codes, messages and the UNIMPLEMENTED rpcs.
import * as grpc from '@grpc/grpc-js';
import { createCore, type Core } from '../../core';
import { ComponentStore } from '../../components/store';
import type { ComponentMetadata } from '../../components/types';
import { InMemoryStateStore } from '../../components/state/in-memory';
import { HelloWorld } from '../../components/hello/helloworld';
import { StateFeature, type GetRequest, type GetResponse, type StateStore } from '../../components/state/types';
import { addLayottoServices } from './service';
import { loadLayottoDefinition, PACKAGE } from './protos';
import type * as M from './messages';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Client } = require('layotto') as typeof import('layotto');
type SdkClient = InstanceType<typeof Client>;

/** The in-memory store with its TRANSACTIONAL feature withheld. */
class NoTxStore extends InMemoryStateStore {
  override features(): readonly string[] {
    return super.features().filter((f) => f !== StateFeature.TRANSACTIONAL);
  }
}

/** The in-memory store whose reads fail, to see how a component failure is reported. */
class BrokenReadStore extends InMemoryStateStore {
  override async get(_req: GetRequest): Promise<GetResponse | undefined> {
    throw new Error('disk on fire');
  }
}

type Unary = (req: unknown, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

const APP = 'layotto-test';
const run = Date.now().toString(36);
const k = (name: string) => `${name}-${run}`;
const enc = (s: string) => Buffer.from(s, 'utf8');

interface Served {
  server: grpc.Server;
  port: number;
  runtime: grpc.Client;
  lifecycle: grpc.Client;
}
const served: Served[] = [];
let core: Core;
let main: Served;
let bare: Served;
let sdk: SdkClient;

function meta(name: string, type: string, properties: Record<string, string> = {}): ComponentMetadata {
  return { name, type, version: 'v1', properties, appId: APP, namespace: '' };
}

async function addState(components: ComponentStore, name: string, instance: StateStore) {
  const m = meta(name, 'state.in-memory');
  await instance.init(m);
  components.add({ kind: 'state', name, meta: m, instance, capabilities: [...instance.features()] });
}

function coreOf(components: ComponentStore): Core {
  return createCore({ components, appId: APP, namespace: '', runtimeVersion: 'test' }, { protocol: 'http', channelAddress: '127.0.0.1' });
}

async function serve(c: Core): Promise<Served> {
  const server = new grpc.Server();
  addLayottoServices(server, c);
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  const pkg = grpc.loadPackageDefinition(loadLayottoDefinition());
  const ctor = (name: string) => name.split('.').reduce<unknown>((o, p) => (o as Record<string, unknown>)[p], pkg) as grpc.ServiceClientConstructor;
  const addr = `127.0.0.1:${port}`;
  const s: Served = {
    server,
    port,
    runtime: new (ctor(`${PACKAGE}.Runtime`))(addr, grpc.credentials.createInsecure()),
    lifecycle: new (ctor(`${PACKAGE}.Lifecycle`))(addr, grpc.credentials.createInsecure()),
  };
  served.push(s);
  return s;
}

function call<Res = unknown>(rpc: string, req: unknown, on: grpc.Client = main.runtime): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = (on as unknown as Record<string, Unary>)[rpc]!;
    fn.call(on, req, new grpc.Metadata(), (err, res) => (err ? reject(err) : resolve(res as Res)));
  });
}

async function failure(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (e) {
    return e as grpc.ServiceError;
  }
  throw new Error('call succeeded, expected an error');
}

beforeAll(async () => {
  const components = new ComponentStore();
  await addState(components, 'mem', new InMemoryStateStore());
  await addState(components, 'notx', new NoTxStore());
  await addState(components, 'broken', new BrokenReadStore());
  const hello = new HelloWorld();
  const hm = meta('helloworld', 'hello.helloworld', { hello: 'greeting' });
  await hello.init(hm);
  components.add({ kind: 'hello', name: 'helloworld', meta: hm, instance: hello, capabilities: [] });
  core = coreOf(components);
  main = await serve(core);
  bare = await serve(coreOf(new ComponentStore()));
  sdk = new Client(String(main.port), '127.0.0.1');
});

afterAll(async () => {
  sdk?.close();
  for (const s of served) {
    s.runtime.close();
    s.lifecycle.close();
    await new Promise<void>((res) => s.server.tryShutdown(() => res()));
  }
});

describe('Hello through the Layotto SDK', () => {
  it('greets with and without a name', async () => {
    expect(await sdk.hello.sayHello({ serviceName: 'helloworld', name: 'layotto' })).toBe('greeting, layotto');
    expect(await sdk.hello.sayHello()).toBe('greeting'); // the SDK's default service name is helloworld
  });

  it('echoes data untouched', async () => {
    const data = { type_url: 'type.googleapis.com/x.Payload', value: Buffer.from([0, 1, 2, 250]) };
    const res = await call<M.SayHelloResponse>('SayHello', { service_name: 'helloworld', name: 'n', data });
    expect(res.hello).toBe('greeting, n');
    expect(res.data?.type_url).toBe(data.type_url);
    expect(Buffer.from(res.data!.value)).toEqual(data.value);
  });

  it('answers Unknown "no instance found" for a missing component, as Layotto', async () => {
    const e = await failure(sdk.hello.sayHello({ serviceName: 'nope' }));
    expect([e.code, e.details]).toEqual([grpc.status.UNKNOWN, 'no instance found']);
  });
});

describe('State through the Layotto SDK', () => {
  it('saves, reads back raw bytes, and answers null for a missing key', async () => {
    const bytes = Buffer.from([0, 0xff, 0x7b, 0x22, 10]);
    await sdk.state.save({ storeName: 'mem', states: [{ key: k('a'), value: bytes }, { key: k('b'), value: 'text' }] });
    const a = await sdk.state.get({ storeName: 'mem', key: k('a') });
    expect(Buffer.from(a!.value)).toEqual(bytes);
    expect(a!.etag).toMatch(/^\d+$/);
    expect(Buffer.from((await sdk.state.get({ storeName: 'mem', key: k('b') }))!.value).toString()).toBe('text');
    expect(await sdk.state.get({ storeName: 'mem', key: k('missing') })).toBeNull();
  });

  it('uses the same key strategy as every other face (core applies appid||key)', async () => {
    await sdk.state.save({ storeName: 'mem', states: { key: k('shared'), value: 'v1' } });
    const viaCore = await core.state.get('mem', k('shared'));
    expect(viaCore!.data.toString()).toBe('v1');
    const raw = await core.state.store('mem').get({ key: `${APP}||${k('shared')}`, metadata: {} });
    expect(raw!.data.toString()).toBe('v1');
  });

  it('bulk-gets the keys that exist', async () => {
    await sdk.state.save({ storeName: 'mem', states: [{ key: k('b1'), value: 'x' }, { key: k('b2'), value: 'y' }] });
    const items = await sdk.state.getBulk({ storeName: 'mem', keys: [k('b1'), k('b2'), k('b3')], parallelism: 2 });
    expect(items.map((i) => [i.key, Buffer.from(i.value).toString()]).sort()).toEqual([
      [k('b1'), 'x'],
      [k('b2'), 'y'],
    ]);
    const raw = await call<{ items: M.BulkStateItem[] }>('GetBulkState', { store_name: 'mem', keys: [k('b1'), k('b3')] });
    expect(raw.items.map((i) => [i.key, Buffer.from(i.data).toString(), i.error])).toEqual([
      [k('b1'), 'x', ''],
      [k('b3'), '', ''],
    ]);
  });

  it('treats the SDK default etag "0" as no etag and enforces real ones', async () => {
    await sdk.state.save({ storeName: 'mem', states: { key: k('e'), value: 'one' } });
    await sdk.state.save({ storeName: 'mem', states: { key: k('e'), value: 'two' } }); // etag "0" on the wire
    const cur = await sdk.state.get({ storeName: 'mem', key: k('e') });
    expect(Buffer.from(cur!.value).toString()).toBe('two');

    const stale = String(Number(cur!.etag) + 100);
    const conflict = await failure(sdk.state.save({ storeName: 'mem', states: { key: k('e'), value: 'x', etag: stale } }));
    expect(conflict.code).toBe(grpc.status.ABORTED);
    expect(conflict.details).toMatch(/^failed saving state in state store mem: /);

    const invalid = await failure(sdk.state.save({ storeName: 'mem', states: { key: k('e'), value: 'x', etag: 'not-a-number' } }));
    expect(invalid.code).toBe(grpc.status.INVALID_ARGUMENT);

    await sdk.state.save({ storeName: 'mem', states: { key: k('e'), value: 'three', etag: cur!.etag } });
    const delConflict = await failure(sdk.state.delete({ storeName: 'mem', key: k('e'), etag: cur!.etag }));
    expect(delConflict.code).toBe(grpc.status.ABORTED);
    expect(delConflict.details).toMatch(new RegExp(`^failed deleting state with key ${k('e')}: `));
  });

  it('deletes one key (with and without etag) and bulk-deletes', async () => {
    await sdk.state.save({ storeName: 'mem', states: [{ key: k('d1'), value: '1' }, { key: k('d2'), value: '2' }, { key: k('d3'), value: '3' }] });
    const d1 = await sdk.state.get({ storeName: 'mem', key: k('d1') });
    await sdk.state.delete({ storeName: 'mem', key: k('d1'), etag: d1!.etag });
    expect(await sdk.state.get({ storeName: 'mem', key: k('d1') })).toBeNull();
    await sdk.state.deleteBulk({ storeName: 'mem', states: [{ key: k('d2') }, { key: k('d3') }] });
    expect(await sdk.state.getBulk({ storeName: 'mem', keys: [k('d2'), k('d3')] })).toEqual([]);
    await sdk.state.delete({ storeName: 'mem', key: k('never-there') });
  });

  it('executes transactions of upserts and deletes', async () => {
    await sdk.state.save({ storeName: 'mem', states: { key: k('t-old'), value: 'old' } });
    await sdk.state.executeTransaction({
      storeName: 'mem',
      operations: [
        { operationType: 'upsert' as never, request: { key: k('t-new'), value: 'new' } },
        { operationType: 'delete' as never, request: { key: k('t-old') } },
      ],
    });
    expect(Buffer.from((await sdk.state.get({ storeName: 'mem', key: k('t-new') }))!.value).toString()).toBe('new');
    expect(await sdk.state.get({ storeName: 'mem', key: k('t-old') })).toBeNull();
  });
});

describe('Layotto status codes and messages', () => {
  it('state store not configured: FailedPrecondition', async () => {
    const e = await failure(call('GetState', { store_name: 'mem', key: 'x' }, bare.runtime));
    expect([e.code, e.details]).toEqual([grpc.status.FAILED_PRECONDITION, 'state store is not configured']);
  });

  it.each([
    ['GetState', { store_name: 'nope', key: 'x' }],
    ['GetBulkState', { store_name: 'nope', keys: ['x'] }],
    ['SaveState', { store_name: 'nope', states: [{ key: 'x', value: enc('v') }] }],
    ['DeleteState', { store_name: 'nope', key: 'x' }],
    ['DeleteBulkState', { store_name: 'nope', states: [{ key: 'x' }] }],
    ['ExecuteStateTransaction', { storeName: 'nope', operations: [] }],
  ])('%s on an unknown store: InvalidArgument', async (rpc, req) => {
    const e = await failure(call(rpc, req));
    expect([e.code, e.details]).toEqual([grpc.status.INVALID_ARGUMENT, 'state store nope is not found']);
  });

  it('get failure: Internal "fail to get <key> from state store <store>: <cause>"', async () => {
    const e = await failure(call('GetState', { store_name: 'broken', key: 'kk' }));
    expect([e.code, e.details]).toEqual([grpc.status.INTERNAL, 'fail to get kk from state store broken: disk on fire']);
  });

  it('transaction on a non-transactional store: Unimplemented', async () => {
    const e = await failure(call('ExecuteStateTransaction', { storeName: 'notx', operations: [] }));
    expect([e.code, e.details]).toEqual([grpc.status.UNIMPLEMENTED, "state store notx doesn't support transaction"]);
  });

  it('unknown transaction operation: Unimplemented', async () => {
    const e = await failure(
      call('ExecuteStateTransaction', { storeName: 'mem', operations: [{ operationType: 'merge', request: { key: 'x', value: enc('v') } }] }),
    );
    expect([e.code, e.details]).toEqual([grpc.status.UNIMPLEMENTED, 'operation type merge not supported']);
  });

  it('a key containing "||" is refused with InvalidArgument', async () => {
    const e = await failure(call('GetState', { store_name: 'mem', key: 'a||b' }));
    expect(e.code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

describe('every rpc of Runtime and Lifecycle is served', () => {
  // UNIMPLEMENTED for every call shape is covered by the extension services (extensions.test.ts).
  const implemented = ['SayHello', 'GetState', 'GetBulkState', 'SaveState', 'DeleteState', 'DeleteBulkState', 'ExecuteStateTransaction', 'GetSecret', 'GetBulkSecret', 'TryLock', 'Unlock', 'LockKeepAlive', 'GetNextId', 'GetConfiguration', 'SaveConfiguration', 'DeleteConfiguration', 'SubscribeConfiguration', 'PublishEvent', 'SubscribeTopicEvents', 'InvokeService', 'InvokeBinding', 'GetFile', 'PutFile', 'ListFile', 'DelFile', 'GetFileMeta', 'ApplyConfiguration'];
  const def = loadLayottoDefinition();
  const rows = (svc: 'Runtime' | 'Lifecycle') => Object.keys(def[`${PACKAGE}.${svc}`] as grpc.ServiceDefinition).filter((rpc) => !implemented.includes(rpc));

  it('leaves none unimplemented', () => {
    expect([...rows('Runtime'), ...rows('Lifecycle')]).toEqual([]);
  });
});

