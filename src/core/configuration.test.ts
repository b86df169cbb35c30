import { InMemoryConfigurationStore } from '../components/configuration/in-memory';
import { ComponentStore } from '../components/store';
import { RuntimeError } from '../errors/runtime-error';
import { toLayottoGrpc } from '../errors/to-grpc';
import { toHttp } from '../errors/to-http';
import type { ConfigurationItem } from './configuration';
import { createCore } from '.';

async function coreWith(names: string[], appPort?: number) {
  const components = new ComponentStore();
  const stores: Record<string, InMemoryConfigurationStore> = {};
  for (const name of names) {
    const meta = { name, type: 'configuration.in-memory', version: 'v1', properties: {}, appId: 'app1', namespace: '' };
    const instance = (stores[name] = new InMemoryConfigurationStore());
    await instance.init();
    components.add({ kind: 'configuration', name, meta, instance, capabilities: [] });
  }
  const core = createCore({ components, appId: 'app1', namespace: '', runtimeVersion: 't' }, { protocol: 'http', channelAddress: '127.0.0.1', port: appPort });
  return { conf: core.configuration, stores };
}

const failure = async (p: Promise<unknown>): Promise<RuntimeError> => {
  const e = await p.catch((x: unknown) => x);
  expect(e).toBeInstanceOf(RuntimeError);
  return e as RuntimeError;
};

const q = (keys: string[] = [], over: object = {}) => ({ storeName: 'c', keys, metadata: {}, ...over });

describe('configuration core: errors', () => {
  it('no store at all is 500 ERR_CONFIGURATION_STORE_NOT_CONFIGURED; an unknown one 400 ERR_CONFIGURATION_STORE_NOT_FOUND', async () => {
    const none = await coreWith([]);
    expect(toHttp(await failure(none.conf.get(q())))).toMatchObject({
      status: 500,
      body: { errorCode: 'ERR_CONFIGURATION_STORE_NOT_CONFIGURED', message: 'configuration stores not configured' },
    });
    const one = await coreWith(['c']);
    expect(toHttp(await failure(one.conf.get(q([], { storeName: 'nope' }))))).toMatchObject({
      status: 400,
      body: { errorCode: 'ERR_CONFIGURATION_STORE_NOT_FOUND', message: 'configuration store nope not found' },
    });
  });

  it('Layotto lookups (bare) answer Unknown "configure store [x] don\'t support now" even with no store', async () => {
    const none = await coreWith([]);
    const e = toLayottoGrpc(await failure(none.conf.get(q([], { storeName: 'x' }), { bare: true })));
    expect([e.code, e.details]).toEqual([2, "configure store [x] don't support now"]);
  });

  it('unsubscribing an unknown id is 500 ERR_CONFIGURATION_UNSUBSCRIBE naming the id', async () => {
    const { conf } = await coreWith(['c']);
    const e = toHttp(await failure(conf.unsubscribe('c', 'nope')));
    expect(e).toMatchObject({ status: 500, body: { errorCode: 'ERR_CONFIGURATION_UNSUBSCRIBE' } });
    expect(e.body.message).toBe('failed to unsubscribe to configuration request nope: subscription with id nope does not exist');
  });
});

describe('configuration core: get/save/delete', () => {
  it('save defaults blank group/label to "default"; the Dapr (default) view sees them, other namespaces stay apart', async () => {
    const { conf } = await coreWith(['c']);
    await conf.save('c', [{ key: 'a', value: '1' }, { key: 'b', value: '2', group: ' ', label: '' }, { key: 'a', value: 'g', group: 'g1', tags: { t: 'x' } }], {});
    const dapr = await conf.get(q(['a', 'b', 'missing']));
    expect(dapr.map((i) => [i.key, i.value, i.group, i.label])).toEqual([
      ['a', '1', 'default', 'default'],
      ['b', '2', 'default', 'default'],
    ]);
    const g1 = await conf.get(q([], { group: 'g1' }));
    expect(g1).toEqual([expect.objectContaining({ key: 'a', value: 'g', group: 'g1', label: 'default', tags: { t: 'x' } })]);
  });

  it('versions grow with each write; empty content deletes; delete removes', async () => {
    const { conf } = await coreWith(['c']);
    await conf.save('c', [{ key: 'a', value: '1' }], {});
    const v1 = Number((await conf.get(q(['a'])))[0]!.version);
    await conf.save('c', [{ key: 'a', value: '2' }, { key: 'b', value: 'x' }], {});
    expect(Number((await conf.get(q(['a'])))[0]!.version)).toBeGreaterThan(v1);
    await conf.save('c', [{ key: 'a', value: '' }], {});
    expect(await conf.get(q(['a']))).toEqual([]);
    await conf.delete(q(['b']));
    expect(await conf.get(q())).toEqual([]);
  });
});

describe('configuration core: subscriptions', () => {
  it('delivers changes of the watched keys (deletions as an empty value) until unsubscribed; onEnd fires', async () => {
    const { conf } = await coreWith(['c']);
    const seen: ConfigurationItem[][] = [];
    const ended: unknown[] = [];
    const id = await conf.subscribe(q(['a']), { onUpdate: (items) => void seen.push(items), onEnd: (e) => ended.push(e ?? 'ok') });
    await conf.save('c', [{ key: 'a', value: '1' }, { key: 'other', value: 'x' }], {});
    await conf.delete(q(['a']));
    expect(seen.map((items) => items.map((i) => [i.key, i.value]))).toEqual([[['a', '1']], [['a', '']]]);
    await conf.unsubscribe('c', id);
    expect(ended).toEqual(['ok']);
    await conf.save('c', [{ key: 'a', value: '2' }], {});
    expect(seen).toHaveLength(2);
  });

  it('release() stops quietly; a closing store ends its subscriptions with ERR_CONFIGURATION_SUBSCRIBE', async () => {
    const { conf, stores } = await coreWith(['c']);
    const seen: string[] = [];
    const id = await conf.subscribe(q(), { onUpdate: (items) => void seen.push(items[0]!.key) });
    await conf.release(id);
    await conf.save('c', [{ key: 'a', value: '1' }], {});
    expect(seen).toEqual([]);

    const ended: (RuntimeError | undefined)[] = [];
    await conf.subscribe(q(['k']), { onUpdate: () => undefined, onEnd: (e) => ended.push(e) });
    await stores.c!.close();
    expect(ended).toHaveLength(1);
    expect(toHttp(ended[0]!).body).toMatchObject({
      errorCode: 'ERR_CONFIGURATION_SUBSCRIBE',
      message: 'failed to subscribe [k] from Configuration store c: configuration store closed',
    });
  });

  it('appChannel() is the --app-port target, undefined without one', async () => {
    expect((await coreWith(['c'])).conf.appChannel()).toBeUndefined();
    expect((await coreWith(['c'], 3000)).conf.appChannel()).toEqual({ address: '127.0.0.1', port: 3000 });
  });
});
