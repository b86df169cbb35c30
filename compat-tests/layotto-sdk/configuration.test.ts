// The built sidecar's Layotto configuration rpcs through the real `layotto` Node SDK: save (blank
// group/label = "default", empty content deletes), get, delete, the bidi subscribe pushing
// {store_name, app_id, items}, an unknown store's bare Unknown error, and one Redis store shared
// with the Dapr API (a Layotto save is daprd's `value||version` string). On configuration.etcd:
// group/label/tags round trips, Layotto's key layout, the Dapr API reading the default namespace,
// and a stream ended with an error when the etcd server goes away.
import * as grpc from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import { uniqueRun } from '../helpers/lock-backends';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';
import { loadLayottoDefinition, PACKAGE } from '../../src/api/layotto-grpc/protos';
import { requireService } from '../../test/services';
import { eventually, sleep } from '../../test/wait';
import { startPrivateEtcd } from '../helpers/etcd';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Client } = require('layotto') as typeof import('layotto');

const run = uniqueRun();
const k = (n: string) => `layotto-conf-${n}-${run}`;
const UNKNOWN = 2;

describe('Layotto configuration via the layotto SDK', () => {
  let sc: Sidecar;
  let client: InstanceType<typeof Client>;
  let redisUp = false;
  let redis: Redis | undefined;

  beforeAll(async () => {
    redisUp = await requireService('redis', '127.0.0.1', 6379);
    const resources: Record<string, string> = { 'mem.yaml': componentYaml('mem', 'configuration.in-memory') };
    if (redisUp) {
      resources['redis.yaml'] = componentYaml('rconf', 'configuration.redis', { redisHost: 'localhost:6379' });
      redis = new Redis({ host: '127.0.0.1', port: 6379 });
    }
    sc = await startSidecar({ resources });
    client = new Client(String(sc.layottoPort), '127.0.0.1');
  });
  afterAll(async () => {
    client.close?.();
    await sc.stop();
    if (redis) {
      await redis.del(k('r'));
      await redis.quit();
    }
  });

  const base = { storeName: 'mem', appId: 'app' };

  it('save, get (default group/label), save with empty content and delete remove', async () => {
    await client.configuration.save({ ...base, items: [{ key: k('a'), content: 'A' }, { key: k('b'), content: 'B', group: 'g1', label: 'l1' }] });
    const items = await client.configuration.get({ ...base, keys: [k('a')] });
    expect(items).toEqual([{ key: k('a'), content: 'A', group: 'default', label: 'default', tags: {}, metadata: {} }]);
    expect(await client.configuration.get({ ...base, keys: [k('b')] })).toEqual([]);
    expect((await client.configuration.get({ ...base, keys: [k('b')], group: 'g1', label: 'l1' })).map((i) => i.content)).toEqual(['B']);

    await client.configuration.save({ ...base, items: [{ key: k('a'), content: '' }] });
    expect(await client.configuration.get({ ...base, keys: [k('a')] })).toEqual([]);
    await client.configuration.delete({ ...base, keys: [k('b')], group: 'g1', label: 'l1' });
    expect(await client.configuration.get({ ...base, keys: [k('b')], group: 'g1', label: 'l1' })).toEqual([]);
  });

  it('subscribe pushes the saved items of its keys until the stream is closed', async () => {
    const got: { key: string; content: string }[] = [];
    let closed = false;
    const call = client.configuration.subscribe({
      ...base,
      keys: [k('s')],
      onData: (items) => got.push(...items.map((i) => ({ key: i.key, content: i.content }))),
      onClose: () => (closed = true),
    });
    // The subscription is registered asynchronously after the first write: save until it lands.
    let n = 0;
    while (got.length === 0) {
      await client.configuration.save({ ...base, items: [{ key: k('s'), content: `v${++n}` }, { key: k('other'), content: 'x' }] });
      await sleep(20);
    }
    expect(got[0]).toEqual({ key: k('s'), content: `v${n}` });
    expect(got.every((g) => g.key === k('s'))).toBe(true);
    call.end();
    await eventually(() => closed);
  });

  it("an unknown store is Unknown \"configure store [nope] don't support now\"", async () => {
    const e = (await client.configuration.get({ storeName: 'nope', appId: 'app', keys: ['x'] }).catch((x: unknown) => x)) as { code: number; details: string };
    expect([e.code, e.details]).toEqual([UNKNOWN, "configure store [nope] don't support now"]);
  });

  it('redis: a Layotto save is daprd\'s "value||version" string and reads back over the Dapr HTTP API', async () => {
    if (!redisUp) return;
    await client.configuration.save({ storeName: 'rconf', appId: 'app', items: [{ key: k('r'), content: 'one' }] });
    await client.configuration.save({ storeName: 'rconf', appId: 'app', items: [{ key: k('r'), content: 'two' }] });
    expect(await redis!.get(k('r'))).toBe('two||2');
    const r = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/configuration/rconf?key=${k('r')}`);
    expect(await r.json()).toEqual({ [k('r')]: { value: 'two', version: '2' } });
  });
});

describe('Layotto configuration on configuration.etcd via the layotto SDK', () => {
  let enabled = false;
  let sc: Sidecar;
  let client: InstanceType<typeof Client>;
  let etcd: Etcd3;
  /** The SDK's save drops tags: SaveConfiguration with tags goes through a plain grpc-js client. */
  let raw: grpc.Client & { SaveConfiguration: (req: object, cb: (err: grpc.ServiceError | null) => void) => void };
  const base = { storeName: 'econf', appId: 'ignored' };

  beforeAll(async () => {
    enabled = await requireService('etcd', '127.0.0.1', 2379);
    if (!enabled) return;
    etcd = new Etcd3({ hosts: 'http://127.0.0.1:2379' });
    sc = await startSidecar({ appId: `app-${run}`, resources: { 'etcd.yaml': componentYaml('econf', 'configuration.etcd', { endpoints: '127.0.0.1:2379' }) } });
    client = new Client(String(sc.layottoPort), '127.0.0.1');
    const Runtime = grpc.makeGenericClientConstructor(loadLayottoDefinition()[`${PACKAGE}.Runtime`] as grpc.ServiceDefinition, 'Runtime');
    raw = new Runtime(`127.0.0.1:${sc.layottoPort}`, grpc.credentials.createInsecure()) as unknown as typeof raw;
  });
  afterAll(async () => {
    if (!enabled) return;
    client.close?.();
    raw.close();
    await sc.stop();
    await etcd.delete().prefix(`/app-${run}/`);
    etcd.close();
  });

  it("save with group/label/tags, get them back; stored under Layotto's /{app_id}/{group}/{label}/{key}[/{tag}]", async () => {
    if (!enabled) return;
    const items = [{ key: k('e'), content: 'E', group: 'g1', label: 'l1', tags: { env: 'prod' } }];
    await new Promise<void>((res, rej) => raw.SaveConfiguration({ store_name: 'econf', app_id: 'x', items }, (err) => (err ? rej(err) : res())));
    expect(await client.configuration.get({ ...base, keys: [k('e')], group: 'g1', label: 'l1' })).toEqual([
      { key: k('e'), content: 'E', group: 'g1', label: 'l1', tags: { env: 'prod' }, metadata: {} },
    ]);
    expect(await etcd.getAll().prefix(`/app-${run}/g1/l1/${k('e')}`).strings()).toEqual({
      [`/app-${run}/g1/l1/${k('e')}`]: 'E',
      [`/app-${run}/g1/l1/${k('e')}/env`]: 'prod',
    });
    await client.configuration.delete({ ...base, keys: [k('e')], group: 'g1', label: 'l1' });
    expect(await etcd.getAll().prefix(`/app-${run}/`).keys()).toEqual([]);
  });

  it('an item saved over Layotto in the default group/label reads back over the Dapr HTTP API', async () => {
    if (!enabled) return;
    await client.configuration.save({ ...base, items: [{ key: k('d'), content: 'shared' }] });
    const version = (await etcd.get(`/app-${run}/default/default/${k('d')}`).exec()).kvs[0]!.mod_revision;
    const r = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/configuration/econf?key=${k('d')}`);
    expect(await r.json()).toEqual({ [k('d')]: { value: 'shared', version } });
  });

  it('subscribe pushes items written by etcdctl-style puts, tags included', async () => {
    if (!enabled) return;
    const got: { key: string; content: string; tags: Record<string, string> }[] = [];
    let closed = false;
    const call = client.configuration.subscribe({
      ...base,
      keys: [k('s')],
      group: 'g2',
      onData: (items) => got.push(...items.map((i) => ({ key: i.key, content: i.content, tags: i.tags }))),
      onClose: () => (closed = true),
    });
    let n = 0;
    while (got.length === 0) {
      await etcd.put(`/app-${run}/g2/default/${k('s')}`).value(`v${++n}`);
      await sleep(20);
    }
    await eventually(() => got.some((g) => g.content === `v${n}`));
    expect(got.every((g) => g.key === k('s') && g.content.startsWith('v') && Object.keys(g.tags).length === 0)).toBe(true);
    await etcd.put(`/app-${run}/g2/default/${k('s')}/t`).value('x');
    await eventually(() => got.some((g) => g.tags.t === 'x'));
    call.end();
    await eventually(() => closed);
  });
});

describe('Layotto configuration on configuration.etcd when the server goes away', () => {
  it('the subscription stream ends with Unknown "lost the connection to etcd ..."', async () => {
    const etcd = await startPrivateEtcd();
    if (!etcd) return;
    const sc = await startSidecar({ resources: { 'etcd.yaml': componentYaml('gone', 'configuration.etcd', { endpoints: etcd.endpoint, dialTimeout: '5' }) } });
    const client = new Client(String(sc.layottoPort), '127.0.0.1');
    try {
      let closedWith: unknown = null;
      let got = 0;
      client.configuration.subscribe({ storeName: 'gone', appId: 'x', keys: ['k'], onData: () => void got++, onClose: (e) => (closedWith = e) });
      // Registered asynchronously: save until an update arrives, then stop the server.
      for (let n = 0; got === 0; n++) {
        await client.configuration.save({ storeName: 'gone', appId: 'x', items: [{ key: 'k', content: `v${n}` }] });
        await sleep(20);
      }
      await etcd.kill();
      await eventually(() => closedWith !== null);
      const e = closedWith as { code?: number; details?: string } | undefined;
      expect(e?.code).toBe(UNKNOWN);
      expect(e?.details).toMatch(/^lost the connection to etcd for configuration updates: /);
    } finally {
      client.close?.();
      await sc.stop();
      await etcd.kill();
    }
  }, 30000);
});
