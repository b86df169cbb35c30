// The built sidecar's Layotto configuration rpcs through the real `layotto` Node SDK: save (blank
// group/label = "default", empty content deletes), get, delete, the bidi subscribe pushing
// {store_name, app_id, items}, an unknown store's bare Unknown error, and one Redis store shared
// with the Dapr API (a Layotto save is daprd's `value||version` string).
import { Redis } from 'ioredis';
import { uniqueRun } from '../helpers/lock-backends';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';
import { requireService } from '../../test/services';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Client } = require('layotto') as typeof import('layotto');

const run = uniqueRun();
const k = (n: string) => `layotto-conf-${n}-${run}`;
const UNKNOWN = 2;

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
}

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
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(got[0]).toEqual({ key: k('s'), content: `v${n}` });
    expect(got.every((g) => g.key === k('s'))).toBe(true);
    call.end();
    await until(() => closed);
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
