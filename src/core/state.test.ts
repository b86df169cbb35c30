import { ComponentStore } from '../components/store';
import { InMemoryStateStore } from '../components/state/in-memory';
import { RuntimeError } from '../errors/runtime-error';
import { createCore } from '.';

async function coreWith(stores: Record<string, Record<string, string>>, appId = 'app1', namespace = '') {
  const components = new ComponentStore();
  for (const [name, properties] of Object.entries(stores)) {
    const meta = { name, type: 'state.in-memory', version: 'v1', properties, appId, namespace };
    const instance = new InMemoryStateStore();
    await instance.init(meta);
    components.add({ kind: 'state', name, meta, instance, capabilities: [] });
  }
  return createCore({ components, appId, namespace, runtimeVersion: 't' }, { protocol: 'http', channelAddress: '127.0.0.1' }).state;
}

const code = async (p: Promise<unknown>) => {
  const e = await p.catch((x) => x);
  expect(e).toBeInstanceOf(RuntimeError);
  return (e as RuntimeError).kind;
};

describe('state core', () => {
  it.each([
    [{}, 'app1||k'],
    [{ keyPrefix: 'appid' }, 'app1||k'],
    [{ keyPrefix: 'name' }, 's||k'],
    [{ keyPrefix: 'none' }, 'k'],
    [{ keyPrefix: 'custom' }, 'custom||k'],
    [{ KEYPREFIX: 'NONE' }, 'k'],
  ])('key prefix %j', async (props, expected) => {
    expect((await coreWith({ s: props })).prefix('s', 'k')).toBe(expected);
  });

  it('namespace strategy', async () => {
    expect((await coreWith({ s: { keyPrefix: 'namespace' } }, 'a', 'ns')).prefix('s', 'k')).toBe('ns.a||k');
    expect((await coreWith({ s: { keyPrefix: 'namespace' } }, 'a', '')).prefix('s', 'k')).toBe('a||k');
  });

  it('refuses illegal and empty keys, unknown and unconfigured stores', async () => {
    const s = await coreWith({ s: {} });
    expect(await code(s.get('s', 'a||b'))).toBe('STATE_ILLEGAL_KEY');
    expect(await code(s.get('s', ''))).toBe('STATE_KEY_EMPTY');
    expect(await code(s.get('nope', 'k'))).toBe('STATE_STORE_NOT_FOUND');
    expect(await code((await coreWith({})).get('s', 'k'))).toBe('STATE_STORE_NOT_CONFIGURED');
  });

  it('saves, reads, deletes and maps ETag failures', async () => {
    const s = await coreWith({ s: {} });
    await s.save('s', [{ key: 'k', value: Buffer.from('"v"') }]);
    const got = await s.get('s', 'k');
    expect(got?.data.toString()).toBe('"v"');
    expect(await code(s.save('s', [{ key: 'k', value: Buffer.from('1'), etag: '99' }]))).toBe('STATE_SAVE_ETAG_MISMATCH');
    expect(await code(s.save('s', [{ key: 'k', value: Buffer.from('1'), etag: 'xyz' }]))).toBe('STATE_SAVE_ETAG_INVALID');
    expect(await code(s.delete('s', 'k', '99'))).toBe('STATE_DELETE_ETAG_MISMATCH');
    await s.delete('s', 'k', got!.etag);
    expect(await s.get('s', 'k')).toBeUndefined();
  });

  it('validates ttlInSeconds and option values', async () => {
    const s = await coreWith({ s: {} });
    expect(await code(s.save('s', [{ key: 'k', value: Buffer.from('1'), metadata: { ttlInSeconds: 'foo' } }]))).toBe('STATE_SAVE');
    expect(await code(s.save('s', [{ key: 'k', value: Buffer.from('1'), options: { concurrency: 'sometimes' } }]))).toBe('STATE_BAD_METADATA');
  });

  it('applies transactions in order and refuses unknown operations', async () => {
    const s = await coreWith({ s: {} });
    await s.transaction('s', [
      { operation: 'upsert', request: { key: 'a', value: Buffer.from('1') } },
      { operation: 'delete', request: { key: 'a', value: Buffer.alloc(0) } },
      { operation: 'upsert', request: { key: 'b', value: Buffer.from('2') } },
    ]);
    expect(await s.get('s', 'a')).toBeUndefined();
    expect((await s.get('s', 'b'))?.data.toString()).toBe('2');
    expect(await code(s.transaction('s', [{ operation: 'merge', request: { key: 'a', value: Buffer.alloc(0) } }]))).toBe('STATE_OPERATION_NOT_SUPPORTED');
  });

  it('bulk get reports missing keys without data', async () => {
    const s = await coreWith({ s: {} });
    await s.save('s', [{ key: 'a', value: Buffer.from('1') }]);
    const items = await s.bulkGet('s', ['a', 'missing']);
    expect(items.map((i) => [i.key, i.data?.toString()])).toEqual([['a', '1'], ['missing', undefined]]);
  });
});
