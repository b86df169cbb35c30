// The built sidecar's Dapr gRPC configuration rpcs through the real @dapr/dapr DaprClient:
// get, subscribeWithKeys (updates arrive when another client writes daprd's `SET key "v||2"` to
// Redis; a delete arrives as an empty value), stop() unsubscribing, and the lookup errors. The same
// get and subscribe on configuration.etcd, with items put at Layotto's /{app_id}/default/default/{key}.
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr';
import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import { rejection, uniqueRun } from '../helpers/lock-backends';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';
import { requireService } from '../../test/services';
import { eventually, sleep } from '../../test/wait';

const STORE = 'configstore';
const run = uniqueRun();
const k = (n: string) => `grpc-conf-${n}-${run}`;
const INVALID_ARGUMENT = 3;
const FAILED_PRECONDITION = 9;

interface Item {
  key: string;
  value: string;
  version: string;
}

async function grpcClient(port: number): Promise<DaprClient> {
  const client = new DaprClient({ daprHost: '127.0.0.1', daprPort: String(port), communicationProtocol: CommunicationProtocolEnum.GRPC, logger: { level: LogLevel.Error } });
  await client.start();
  return client;
}

/** subscribeWithKeys on STORE, collecting every delivered item in order. */
async function collect(client: DaprClient, keys: string[]): Promise<{ got: Item[]; sub: { stop: () => unknown } }> {
  const got: Item[] = [];
  const sub = await client.configuration.subscribeWithKeys(STORE, keys, async (res) => {
    for (const it of Object.values(res.items)) got.push({ key: it.key, value: it.value, version: it.version });
  });
  return { got, sub };
}

describe('Dapr gRPC configuration on configuration.redis via @dapr/dapr', () => {
  let enabled = false;
  let sc: Sidecar;
  let client: DaprClient;
  let redis: Redis;
  const subscribers = async (key: string) => Number(((await redis.pubsub('NUMSUB', `__keyspace@0__:${key}`)) as [string, number])[1]);

  beforeAll(async () => {
    enabled = await requireService('redis', '127.0.0.1', 6379);
    if (!enabled) return;
    redis = new Redis({ host: '127.0.0.1', port: 6379 });
    sc = await startSidecar({ resources: { 'c.yaml': componentYaml(STORE, 'configuration.redis', { redisHost: 'localhost:6379' }) } });
    client = await grpcClient(sc.grpcPort);
  });

  afterAll(async () => {
    if (!enabled) return;
    await redis.del(k('a'), k('b'));
    await client.stop().catch(() => undefined);
    await sc.stop();
    await redis.quit();
  });

  it('get reads daprd-format values; missing keys are left out', async () => {
    if (!enabled) return;
    await redis.set(k('a'), 'va||1');
    await redis.set(k('b'), 'vb');
    const res = await client.configuration.get(STORE, [k('a'), k('b'), k('missing')]);
    expect(res.items).toEqual({
      [k('a')]: { key: k('a'), value: 'va', version: '1', metadata: {} },
      [k('b')]: { key: k('b'), value: 'vb', version: '', metadata: {} },
    });
  });

  it('subscribeWithKeys delivers updates and deletes of its keys; stop() unsubscribes', async () => {
    if (!enabled) return;
    const { got, sub } = await collect(client, [k('a')]);
    try {
      await eventually(async () => (await subscribers(k('a'))) > 0);
      await redis.set(k('b'), 'ignored||9');
      await redis.set(k('a'), 'v||2');
      // The store reads the value when the notification arrives (as contrib does): let it land
      // before deleting, or the update would be read as already gone.
      await eventually(() => got.length >= 1);
      await redis.del(k('a'));
      await eventually(() => got.length >= 2);
      expect(got).toEqual([
        { key: k('a'), value: 'v', version: '2' },
        { key: k('a'), value: '', version: '' },
      ]);
    } finally {
      await sub.stop();
    }
    await eventually(async () => (await subscribers(k('a'))) === 0);
  });

  it('an unknown store is INVALID_ARGUMENT "configuration store nope not found"', async () => {
    if (!enabled) return;
    const e = await rejection(client.configuration.get('nope', ['x']));
    expect(e.code).toBe(INVALID_ARGUMENT);
    expect((e as { rawMessage?: string }).rawMessage ?? e.message).toBe('configuration store nope not found');
  });
});

describe('Dapr gRPC configuration on configuration.etcd via @dapr/dapr', () => {
  let enabled = false;
  let sc: Sidecar;
  let client: DaprClient;
  let etcd: Etcd3;
  const path = (key: string) => `/grpc-${run}/default/default/${key}`;
  const put = async (key: string, value: string) => (await etcd.put(path(key)).value(value).exec()).header.revision;

  beforeAll(async () => {
    enabled = await requireService('etcd', '127.0.0.1', 2379);
    if (!enabled) return;
    etcd = new Etcd3({ hosts: 'http://127.0.0.1:2379' });
    sc = await startSidecar({ appId: `grpc-${run}`, resources: { 'c.yaml': componentYaml(STORE, 'configuration.etcd', { endpoints: '127.0.0.1:2379' }) } });
    client = await grpcClient(sc.grpcPort);
  });

  afterAll(async () => {
    if (!enabled) return;
    await etcd.delete().prefix(`/grpc-${run}/`);
    etcd.close();
    await client.stop().catch(() => undefined);
    await sc.stop();
  });

  it('get reads the default group/label; the version is the mod revision; missing keys are left out', async () => {
    if (!enabled) return;
    const version = await put(k('a'), 'va');
    await etcd.put(`/grpc-${run}/other/default/${k('b')}`).value('not in the default group');
    const res = await client.configuration.get(STORE, [k('a'), k('b')]);
    expect(res.items).toEqual({ [k('a')]: { key: k('a'), value: 'va', version, metadata: {} } });
  });

  it('subscribeWithKeys delivers updates and deletes of its keys', async () => {
    if (!enabled) return;
    const { got, sub } = await collect(client, [k('s')]);
    try {
      // The SDK returns before the sidecar subscribed: write until one update lands, then until the
      // last warm-up write has (updates arrive in order, so none is still on its way).
      let n = 0;
      for (; got.length === 0; n++) {
        await put(k('s'), `warm${n}`);
        await sleep(20);
      }
      await eventually(() => got.some((g) => g.value === `warm${n - 1}`));
      got.length = 0;
      await put(k('ignored'), 'x');
      const version = await put(k('s'), 'v');
      await eventually(() => got.length >= 1);
      await etcd.delete().key(path(k('s')));
      await eventually(() => got.length >= 2);
      expect(got).toEqual([
        { key: k('s'), value: 'v', version },
        { key: k('s'), value: '', version: '' },
      ]);
    } finally {
      await sub.stop();
    }
  });
});

describe('Dapr gRPC configuration without a configuration store', () => {
  let sc: Sidecar;
  let client: DaprClient;
  beforeAll(async () => {
    sc = await startSidecar({ resources: {} });
    client = await grpcClient(sc.grpcPort);
  });
  afterAll(async () => {
    await client.stop().catch(() => undefined);
    await sc.stop();
  });

  it('FAILED_PRECONDITION "configuration stores not configured"', async () => {
    const e = await rejection(client.configuration.get('any', ['x']));
    expect(e.code).toBe(FAILED_PRECONDITION);
    expect((e as { rawMessage?: string }).rawMessage ?? e.message).toBe('configuration stores not configured');
  });
});
