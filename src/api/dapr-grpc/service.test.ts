// Dapr gRPC face against a real grpc-js server and client (both from the protos in @dapr/dapr),
// over a Core with real in-memory state stores.
import * as grpc from '@grpc/grpc-js';
import { createCore, type Core } from '../../core';
import { ComponentStore } from '../../components/store';
import type { ComponentMetadata } from '../../components/types';
import { InMemoryStateStore } from '../../components/state/in-memory';
import { StateFeature, type QueryRequest, type QueryResponse, type StateStore } from '../../components/state/types';
import { addDaprService } from './service';
import { daprClientConstructor, daprServiceDefinition } from './protos';

/** The in-memory store with its TRANSACTIONAL feature withheld. */
class NoTxStore extends InMemoryStateStore {
  override features(): readonly string[] {
    return super.features().filter((f) => f !== StateFeature.TRANSACTIONAL);
  }
}

/** The in-memory store plus a query that answers one fixed page, to see the response mapping. */
class QueryStore extends InMemoryStateStore {
  override features(): readonly string[] {
    return [...super.features(), StateFeature.QUERY_API];
  }
  async query(req: QueryRequest): Promise<QueryResponse> {
    const got = await this.get({ key: 'grpc-test||q1', metadata: {} });
    return { results: got ? [{ key: 'grpc-test||q1', data: got.data, etag: got.etag }] : [], token: `after-${req.query.page?.limit ?? 0}` };
  }
}

type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;
// Responses are checked field by field; their exact shapes are the proto messages.
type AnyRes = any; // eslint-disable-line @typescript-eslint/no-explicit-any

let server: grpc.Server;
let client: grpc.Client;
let core: Core;
let emptyServer: grpc.Server;
let emptyClient: grpc.Client;
const shutdowns: number[] = [];

async function addStore(components: ComponentStore, name: string, instance: StateStore, properties: Record<string, string> = {}) {
  const meta: ComponentMetadata = { name, type: 'state.in-memory', version: 'v1', properties, appId: 'grpc-test', namespace: '' };
  await instance.init(meta);
  components.add({ kind: 'state', name, meta, instance, capabilities: [...instance.features()] });
}

async function serve(c: Core): Promise<{ server: grpc.Server; client: grpc.Client }> {
  const s = new grpc.Server();
  addDaprService(s, c);
  const port = await new Promise<number>((res, rej) =>
    s.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  const Client = daprClientConstructor();
  return { server: s, client: new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) };
}

function call(rpc: string, req: unknown, on: grpc.Client = client): Promise<AnyRes> {
  return new Promise((resolve, reject) => {
    const fn = (on as unknown as Record<string, Unary>)[rpc]!;
    fn.call(on, req, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

async function callError(rpc: string, req: unknown, on: grpc.Client = client): Promise<grpc.ServiceError> {
  try {
    await call(rpc, req, on);
  } catch (e) {
    return e as grpc.ServiceError;
  }
  throw new Error(`${rpc} succeeded, expected an error`);
}

const run = Date.now().toString(36);
const k = (name: string) => `${name}-${run}`;

beforeAll(async () => {
  const components = new ComponentStore();
  await addStore(components, 'mem', new InMemoryStateStore());
  await addStore(components, 'notx', new NoTxStore());
  await addStore(components, 'queryable', new QueryStore());
  core = createCore({ components, appId: 'grpc-test', namespace: '', runtimeVersion: '9.9.9-test' }, { protocol: 'http', channelAddress: '127.0.0.1' });
  core.metadata.onShutdown(() => shutdowns.push(Date.now()));
  ({ server, client } = await serve(core));
  const none = createCore({ components: new ComponentStore(), appId: 'x', namespace: '', runtimeVersion: '9.9.9-test' }, { protocol: 'http', channelAddress: '127.0.0.1' });
  ({ server: emptyServer, client: emptyClient } = await serve(none));
});

afterAll(async () => {
  client.close();
  emptyClient.close();
  await Promise.all([server, emptyServer].map((s) => new Promise<void>((r) => s.tryShutdown(() => r()))));
  for (const c of core.ctx.components.list('state')) await c.instance.close();
});

describe('state rpcs', () => {
  it('SaveState stores bytes verbatim and GetState returns them with an etag', async () => {
    const value = Buffer.from([0x00, 0xff, 0x7b, 0x22]); // not JSON, not UTF-8
    await call('SaveState', { store_name: 'mem', states: [{ key: k('raw'), value }] });
    const res = await call('GetState', { store_name: 'mem', key: k('raw') });
    expect(Buffer.compare(res.data, value)).toBe(0);
    expect(res.etag).toBe('1');
    // A JSON string is not re-encoded either (HTTP would store it quoted).
    await call('SaveState', { store_name: 'mem', states: [{ key: k('str'), value: Buffer.from('hello') }] });
    expect((await call('GetState', { store_name: 'mem', key: k('str') })).data.toString()).toBe('hello');
  });

  it('GetState of a missing key is an empty answer, not an error', async () => {
    const res = await call('GetState', { store_name: 'mem', key: k('missing') });
    expect(res.data.length).toBe(0);
    expect(res.etag).toBe('');
  });

  it('GetState passes consistency and returns the store metadata (ttlExpireTime)', async () => {
    await call('SaveState', { store_name: 'mem', states: [{ key: k('ttl'), value: Buffer.from('x'), metadata: { ttlInSeconds: '100' } }] });
    const res = await call('GetState', { store_name: 'mem', key: k('ttl'), consistency: 'CONSISTENCY_STRONG', metadata: { a: 'b' } });
    expect(res.metadata.ttlExpireTime).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('SaveState with a TTL expires the key', async () => {
    await call('SaveState', { store_name: 'mem', states: [{ key: k('short'), value: Buffer.from('x'), metadata: { ttlInSeconds: '1' } }] });
    await new Promise((r) => setTimeout(r, 1100));
    expect((await call('GetState', { store_name: 'mem', key: k('short') })).data.length).toBe(0);
  });

  it('etags: StateItem.etag {value} guards writes; mismatch = ABORTED, bad format = INVALID_ARGUMENT', async () => {
    await call('SaveState', { store_name: 'mem', states: [{ key: k('e'), value: Buffer.from('1') }] });
    const { etag } = await call('GetState', { store_name: 'mem', key: k('e') });
    await call('SaveState', { store_name: 'mem', states: [{ key: k('e'), value: Buffer.from('2'), etag: { value: etag } }] });
    const stale = await callError('SaveState', { store_name: 'mem', states: [{ key: k('e'), value: Buffer.from('3'), etag: { value: etag } }] });
    expect(stale.code).toBe(grpc.status.ABORTED);
    expect(stale.details).toContain('failed saving state in state store mem');
    const bad = await callError('SaveState', { store_name: 'mem', states: [{ key: k('e'), value: Buffer.from('3'), etag: { value: 'not-a-version' } }] });
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    const delStale = await callError('DeleteState', { store_name: 'mem', key: k('e'), etag: { value: etag } });
    expect(delStale.code).toBe(grpc.status.ABORTED);
    const delBad = await callError('DeleteState', { store_name: 'mem', key: k('e'), etag: { value: 'zz' } });
    expect(delBad.code).toBe(grpc.status.INVALID_ARGUMENT);
    const cur = await call('GetState', { store_name: 'mem', key: k('e') });
    expect(cur.data.toString()).toBe('2');
    await call('DeleteState', { store_name: 'mem', key: k('e'), etag: { value: cur.etag } });
    expect((await call('GetState', { store_name: 'mem', key: k('e') })).etag).toBe('');
  });

  it('options: CONCURRENCY_FIRST_WRITE refuses an update without etag (numeric enums too)', async () => {
    await call('SaveState', { store_name: 'mem', states: [{ key: k('fw'), value: Buffer.from('a') }] });
    const byName = await callError('SaveState', {
      store_name: 'mem',
      states: [{ key: k('fw'), value: Buffer.from('b'), options: { concurrency: 'CONCURRENCY_FIRST_WRITE', consistency: 'CONSISTENCY_STRONG' } }],
    });
    expect(byName.code).toBe(grpc.status.ABORTED);
    const byNumber = await callError('SaveState', { store_name: 'mem', states: [{ key: k('fw'), value: Buffer.from('b'), options: { concurrency: 1 } }] });
    expect(byNumber.code).toBe(grpc.status.ABORTED);
    await call('SaveState', { store_name: 'mem', states: [{ key: k('fw'), value: Buffer.from('c'), options: { concurrency: 'CONCURRENCY_LAST_WRITE' } }] });
    expect((await call('GetState', { store_name: 'mem', key: k('fw') })).data.toString()).toBe('c');
  });

  it('GetBulkState returns every key, missing ones empty, in order', async () => {
    await call('SaveState', {
      store_name: 'mem',
      states: [
        { key: k('b1'), value: Buffer.from('one') },
        { key: k('b2'), value: Buffer.from('two') },
      ],
    });
    const res = await call('GetBulkState', { store_name: 'mem', keys: [k('b1'), k('nope'), k('b2')], parallelism: 2 });
    expect(res.items.map((i: AnyRes) => [i.key, i.data.toString(), i.error])).toEqual([
      [k('b1'), 'one', ''],
      [k('nope'), '', ''],
      [k('b2'), 'two', ''],
    ]);
    expect(res.items[0].etag).toBe('1');
    expect(res.items[1].etag).toBe('');
    expect((await call('GetBulkState', { store_name: 'mem', keys: [] })).items).toEqual([]);
  });

  it('DeleteBulkState deletes every key', async () => {
    await call('SaveState', { store_name: 'mem', states: [{ key: k('d1'), value: Buffer.from('1') }, { key: k('d2'), value: Buffer.from('2') }] });
    await call('DeleteBulkState', { store_name: 'mem', states: [{ key: k('d1') }, { key: k('d2') }] });
    const res = await call('GetBulkState', { store_name: 'mem', keys: [k('d1'), k('d2')] });
    expect(res.items.every((i: AnyRes) => i.data.length === 0)).toBe(true);
  });

  it('ExecuteStateTransaction applies upserts and deletes in order', async () => {
    await call('SaveState', { store_name: 'mem', states: [{ key: k('t0'), value: Buffer.from('old') }] });
    await call('ExecuteStateTransaction', {
      storeName: 'mem',
      operations: [
        { operationType: 'upsert', request: { key: k('t1'), value: Buffer.from('v1') } },
        { operationType: 'delete', request: { key: k('t0') } },
        { operationType: 'upsert', request: { key: k('t2'), value: Buffer.from('v2') } },
        { operationType: 'delete', request: { key: k('t2') } },
      ],
      metadata: {},
    });
    const res = await call('GetBulkState', { store_name: 'mem', keys: [k('t0'), k('t1'), k('t2')] });
    expect(res.items.map((i: AnyRes) => i.data.toString())).toEqual(['', 'v1', '']);
  });

  it('ExecuteStateTransaction errors: unknown op UNIMPLEMENTED, etag failure INTERNAL (nothing applied), non-transactional store UNIMPLEMENTED', async () => {
    const op = await callError('ExecuteStateTransaction', { storeName: 'mem', operations: [{ operationType: 'merge', request: { key: k('x') } }] });
    expect(op.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(op.details).toBe('operation type merge not supported');
    const etag = await callError('ExecuteStateTransaction', {
      storeName: 'mem',
      operations: [
        { operationType: 'upsert', request: { key: k('tx-a'), value: Buffer.from('a') } },
        { operationType: 'upsert', request: { key: k('tx-b'), value: Buffer.from('b'), etag: { value: '42' } } },
      ],
    });
    expect(etag.code).toBe(grpc.status.INTERNAL);
    expect(etag.details).toMatch(/^error while executing state transaction: /);
    expect((await call('GetState', { store_name: 'mem', key: k('tx-a') })).data.length).toBe(0);
    const notx = await callError('ExecuteStateTransaction', { storeName: 'notx', operations: [] });
    expect(notx.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(notx.details).toBe("state store notx doesn't support transaction");
  });

  it('QueryStateAlpha1 parses the JSON query and maps results (original keys, etag, token)', async () => {
    await call('SaveState', { store_name: 'queryable', states: [{ key: 'q1', value: Buffer.from('{"a":1}') }] });
    const res = await call('QueryStateAlpha1', { store_name: 'queryable', query: JSON.stringify({ filter: {}, page: { limit: 5 } }) });
    expect(res.results.map((r: AnyRes) => [r.key, r.data.toString(), r.etag, r.error])).toEqual([['q1', '{"a":1}', '1', '']]);
    expect(res.token).toBe('after-5');
  });

  it('QueryStateAlpha1 errors: bad JSON INTERNAL ERR_STATE_QUERY, unsupported store INTERNAL', async () => {
    const bad = await callError('QueryStateAlpha1', { store_name: 'queryable', query: '{not json' });
    expect(bad.code).toBe(grpc.status.INTERNAL);
    expect(bad.details).toMatch(/^failed query in state store queryable: failed to parse JSON query body/);
    const unsupported = await callError('QueryStateAlpha1', { store_name: 'mem', query: '{not json' });
    expect(unsupported.code).toBe(grpc.status.INTERNAL);
    expect(unsupported.details).toBe('state store does not support querying');
  });
});

describe('state errors', () => {
  it('unknown store: INVALID_ARGUMENT with ErrorInfo DAPR_STATE_NOT_FOUND', async () => {
    for (const [rpc, req] of [
      ['GetState', { store_name: 'nope', key: 'a' }],
      ['SaveState', { store_name: 'nope', states: [{ key: 'a', value: Buffer.from('1') }] }],
      ['GetBulkState', { store_name: 'nope', keys: [] }],
      ['DeleteState', { store_name: 'nope', key: 'a' }],
      ['DeleteBulkState', { store_name: 'nope', states: [] }],
      ['ExecuteStateTransaction', { storeName: 'nope', operations: [] }],
      ['QueryStateAlpha1', { store_name: 'nope', query: '{}' }],
    ] as const) {
      const e = await callError(rpc, req);
      expect([rpc, e.code, e.details]).toEqual([rpc, grpc.status.INVALID_ARGUMENT, 'state store nope is not found']);
      const details = e.metadata.get('grpc-status-details-bin')[0] as Buffer;
      expect(details.toString('latin1')).toContain('DAPR_STATE_NOT_FOUND');
    }
  });

  it('no state stores at all: FAILED_PRECONDITION', async () => {
    const e = await callError('GetState', { store_name: 'mem', key: 'a' }, emptyClient);
    expect(e.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(e.details).toBe('state store is not configured');
  });

  it("keys with '||' and empty keys: INVALID_ARGUMENT", async () => {
    const illegal = await callError('SaveState', { store_name: 'mem', states: [{ key: 'a||b', value: Buffer.from('1') }] });
    expect(illegal.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(illegal.details).toBe("input key/keyPrefix 'a||b' can't contain '||'");
    expect((illegal.metadata.get('grpc-status-details-bin')[0] as Buffer).toString('latin1')).toContain('DAPR_STATE_ILLEGAL_KEY');
    expect((await callError('GetState', { store_name: 'mem', key: 'a||b' })).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((await callError('GetBulkState', { store_name: 'mem', keys: ['ok', 'x||y'] })).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((await callError('DeleteState', { store_name: 'mem', key: 'a||b' })).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((await callError('SaveState', { store_name: 'mem', states: [{ key: '', value: Buffer.from('1') }] })).code).toBe(
      grpc.status.INVALID_ARGUMENT,
    );
  });

  it('a bad ttlInSeconds is refused, not crashed on', async () => {
    const e = await callError('SaveState', { store_name: 'mem', states: [{ key: k('badttl'), value: Buffer.from('1'), metadata: { ttlInSeconds: 'soon' } }] });
    expect(e.code).toBe(grpc.status.INTERNAL);
    expect(e.details).toContain('ttlInSeconds');
  });
});

describe('metadata and shutdown', () => {
  it('GetMetadata reports id, components with capabilities, extended (daprRuntimeVersion), runtime version', async () => {
    const md = await call('GetMetadata', {});
    expect(md.id).toBe('grpc-test');
    expect(md.runtime_version).toBe('9.9.9-test');
    expect(md.extended_metadata.daprRuntimeVersion).toBe('9.9.9-test');
    expect(md.registered_components).toContainEqual({ name: 'mem', type: 'state.in-memory', version: 'v1', capabilities: ['ETAG', 'TRANSACTIONAL', 'TTL'] });
    expect(md.registered_components).toContainEqual(expect.objectContaining({ name: 'notx', capabilities: ['ETAG', 'TTL'] }));
    expect(md.app_connection_properties).toEqual(expect.objectContaining({ protocol: 'http', channel_address: '127.0.0.1' }));
    expect(md.actor_runtime.runtime_status).toBe('DISABLED');
    expect(md.subscriptions).toEqual([]);
    expect(md.http_endpoints).toEqual([]);
    expect(md.enabled_features).toEqual([]);
  });

  it('SetMetadata adds extended metadata; an empty key is a no-op', async () => {
    await call('SetMetadata', { key: 'testKey', value: 'testValue' });
    await call('SetMetadata', { key: '', value: 'ignored' });
    const md = await call('GetMetadata', {});
    expect(md.extended_metadata.testKey).toBe('testValue');
    expect(md.extended_metadata['']).toBeUndefined();
  });

  it('Shutdown answers, then starts the shutdown', async () => {
    expect(shutdowns).toHaveLength(0);
    await call('Shutdown', {});
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(shutdowns).toHaveLength(1);
  });
});

describe('unimplemented rpcs', () => {
  const implemented = new Set([
    'GetState', 'GetBulkState', 'SaveState', 'QueryStateAlpha1', 'DeleteState', 'DeleteBulkState', 'ExecuteStateTransaction',
    'GetMetadata', 'SetMetadata', 'Shutdown',
    'GetSecret', 'GetBulkSecret',
    'TryLockAlpha1', 'UnlockAlpha1',
    'GetConfiguration', 'GetConfigurationAlpha1', 'SubscribeConfiguration', 'SubscribeConfigurationAlpha1',
    'UnsubscribeConfiguration', 'UnsubscribeConfigurationAlpha1',
    'PublishEvent', 'BulkPublishEventAlpha1', 'BulkPublishEvent', 'SubscribeTopicEventsAlpha1',
    'InvokeService', 'InvokeBinding',
  ]);

  function expectUnimplemented(e: grpc.ServiceError | undefined, rpc: string) {
    expect(e?.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(e?.details).toBe(`${rpc} is not implemented`);
  }
  const soon = () => ({ deadline: Date.now() + 1000 });

  it('unary (ConverseAlpha1) answers UNIMPLEMENTED naming the rpc', async () => {
    const e = await new Promise<grpc.ServiceError>((resolve) =>
      (client as unknown as Record<string, (r: unknown, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError) => void) => void>)
        .ConverseAlpha1!.call(client, { name: 'c' }, new grpc.Metadata(), soon(), resolve),
    );
    expectUnimplemented(e, 'ConverseAlpha1');
  });

  it('bidi (EncryptAlpha1) ends with UNIMPLEMENTED, even while the client keeps writing', async () => {
    const stream = (client as unknown as Record<string, (o: grpc.CallOptions) => grpc.ClientDuplexStream<unknown, unknown>>)
      .EncryptAlpha1!.call(client, soon());
    stream.write({ payload: { data: Buffer.from('x'), seq: 0 } });
    const e = await new Promise<grpc.ServiceError>((resolve) => {
      stream.on('data', () => undefined);
      stream.on('error', resolve);
    });
    expectUnimplemented(e, 'EncryptAlpha1');
  });

  it('every other rpc of the loaded service answers UNIMPLEMENTED', async () => {
    const others = Object.entries(daprServiceDefinition).filter(([name]) => !implemented.has(name));
    expect(others.length).toBeGreaterThan(30);
    for (const [name, def] of others) {
      const path = def.path;
      const e = await new Promise<grpc.ServiceError | undefined>((resolve) => {
        const opts = soon();
        if (!def.requestStream && !def.responseStream) {
          client.makeUnaryRequest(path, def.requestSerialize, def.responseDeserialize, {}, new grpc.Metadata(), opts, (err) => resolve(err ?? undefined));
        } else if (def.requestStream && !def.responseStream) {
          const s = client.makeClientStreamRequest(path, def.requestSerialize, def.responseDeserialize, new grpc.Metadata(), opts, (err) => resolve(err ?? undefined));
          s.end();
        } else {
          const s = def.requestStream
            ? client.makeBidiStreamRequest(path, def.requestSerialize, def.responseDeserialize, new grpc.Metadata(), opts)
            : client.makeServerStreamRequest(path, def.requestSerialize, def.responseDeserialize, {}, new grpc.Metadata(), opts);
          s.on('data', () => undefined);
          s.on('error', (err: grpc.ServiceError) => resolve(err));
          s.on('end', () => resolve(undefined));
        }
      });
      expectUnimplemented(e, name);
    }
  });
});
