import { ComponentStore } from '../components/store';
import { InMemorySequencer } from '../components/sequencer/in-memory';
import { sequencerKey } from '../components/sequencer/metadata';
import type { GetNextIdRequest } from '../components/sequencer/types';
import { RuntimeError } from '../errors/runtime-error';
import { toLayottoGrpc } from '../errors/to-grpc';
import { createCore } from '.';
import { AutoIncrement } from './sequencer';

/** Counts store round trips, to see which calls the segment cache serves. */
class CountingSequencer extends InMemorySequencer {
  calls = { next: 0, segment: 0 };
  override async getNextId(req: GetNextIdRequest): Promise<bigint> {
    this.calls.next++;
    return super.getNextId(req);
  }
  override async getSegment(req: { key: string; size: number }): Promise<{ from: bigint; to: bigint }> {
    this.calls.segment++;
    await new Promise((r) => setImmediate(r)); // let concurrent callers pile up on one refill
    return super.getSegment(req);
  }
}

async function coreWith(stores: Record<string, Record<string, string>>, appId = 'app1') {
  const components = new ComponentStore();
  const instances: Record<string, CountingSequencer> = {};
  for (const [name, properties] of Object.entries(stores)) {
    const meta = { name, type: 'sequencer.in-memory', version: 'v1', properties, appId, namespace: '' };
    const instance = new CountingSequencer();
    await instance.init(meta);
    components.add({ kind: 'sequencer', name, meta, instance, capabilities: [] });
    instances[name] = instance;
  }
  const core = createCore({ components, appId, namespace: '', runtimeVersion: 't' }, { protocol: 'http', channelAddress: '127.0.0.1' }).sequencer;
  return { core, instances };
}

const failure = async (p: Promise<unknown>): Promise<RuntimeError> => {
  const e = await p.catch((x: unknown) => x);
  expect(e).toBeInstanceOf(RuntimeError);
  return e as RuntimeError;
};

describe('sequencer key (layotto.md §3.2)', () => {
  const md = (properties: Record<string, string>, appId = 'app1') => ({ name: 's', appId, properties });
  it.each([
    [{}, 'sequencer|||app1||k'],
    [{ keyPrefix: 'appid' }, 'sequencer|||app1||k'],
    [{ keyPrefix: 'name' }, 'sequencer|||s||k'],
    [{ keyPrefix: 'none' }, 'sequencer|||k'],
    [{ KEYPREFIX: 'Abc' }, 'sequencer|||abc||k'],
  ])('%j', (props, expected) => expect(sequencerKey(md(props), 'k')).toBe(expected));
  it('appid without an app id degrades to the none form', () => expect(sequencerKey(md({}, ''), 'k')).toBe('sequencer|||k'));
  it('refuses || in the key', () => expect(() => sequencerKey(md({}), 'a||b')).toThrow("input key/keyPrefix 'a||b' can't contain '||'"));
});

describe('sequencer core', () => {
  it('validates in Layotto order with its codes and messages', async () => {
    const none = await coreWith({});
    const e1 = await failure(none.core.getNextId({ storeName: 'x', key: '' }));
    expect(toLayottoGrpc(e1)).toMatchObject({ code: 9, details: 'Sequencer store is not configured' });
    const { core } = await coreWith({ s: {} });
    expect(toLayottoGrpc(await failure(core.getNextId({ storeName: 'nope', key: '' })))).toMatchObject({ code: 3, details: 'Key is empty in sequencer store nope' });
    expect(toLayottoGrpc(await failure(core.getNextId({ storeName: 'nope', key: 'k' })))).toMatchObject({ code: 3, details: 'Sequencer store nope not found' });
    expect(toLayottoGrpc(await failure(core.getNextId({ storeName: 's', key: 'a||b' })))).toMatchObject({ code: 2, details: "input key/keyPrefix 'a||b' can't contain '||'" });
  });

  it('STRONG always asks the store; WEAK is served from segments of segmentStep ids', async () => {
    const { core, instances } = await coreWith({ s: { segmentStep: '10' } });
    const strong = [];
    for (let i = 0; i < 3; i++) strong.push(await core.getNextId({ storeName: 's', key: 'k', increment: AutoIncrement.STRONG }));
    expect(strong).toEqual([1n, 2n, 3n]);
    expect(instances.s!.calls).toEqual({ next: 3, segment: 0 });
    const weak = [];
    for (let i = 0; i < 25; i++) weak.push(await core.getNextId({ storeName: 's', key: 'k' }));
    expect(weak).toEqual(Array.from({ length: 25 }, (_, i) => BigInt(i + 4)));
    expect(instances.s!.calls.segment).toBe(3);
  });

  it('segmentCacheEnable=false sends WEAK to the store too', async () => {
    const { core, instances } = await coreWith({ s: { segmentCacheEnable: 'false' } });
    await core.getNextId({ storeName: 's', key: 'k' });
    expect(instances.s!.calls).toEqual({ next: 1, segment: 0 });
  });

  it('concurrent WEAK callers get unique ids; one refill per exhausted segment', async () => {
    const { core, instances } = await coreWith({ s: { segmentStep: '7' } });
    const ids = await Promise.all(Array.from({ length: 100 }, () => core.getNextId({ storeName: 's', key: 'k' })));
    expect(new Set(ids).size).toBe(100);
    expect([...ids].sort((a, b) => (a < b ? -1 : 1))).toEqual(Array.from({ length: 100 }, (_, i) => BigInt(i + 1)));
    expect(instances.s!.calls.segment).toBe(Math.ceil(100 / 7));
  });

  it('keys are independent and honour biggerThan at init', async () => {
    const { core } = await coreWith({ s: { 'biggerThan.orders': '1000' } });
    expect(await core.getNextId({ storeName: 's', key: 'orders', increment: AutoIncrement.STRONG })).toBe(1001n);
    expect(await core.getNextId({ storeName: 's', key: 'users', increment: AutoIncrement.STRONG })).toBe(1n);
    expect(await core.getNextId({ storeName: 's', key: 'orders' })).toBe(1002n);
  });

  it('init refuses bad metadata', async () => {
    await expect(coreWith({ s: { 'biggerThan.k': '-1' } })).rejects.toThrow('biggerThan.k" must be a non-negative int64');
    await expect(coreWith({ s: { 'biggerThan.k': '9223372036854775807' } })).rejects.toThrow('must be a non-negative int64');
    await expect(coreWith({ s: { segmentStep: '0' } })).rejects.toThrow('segmentStep" must be a positive integer');
    await expect(coreWith({ s: { keyPrefix: 'a||b' } })).rejects.toThrow("can't contain '||'");
  });

  it('component failures are Unknown with the bare text on the Layotto API', async () => {
    const { core, instances } = await coreWith({ s: {} });
    instances.s!.getNextId = async () => {
      throw new Error('backend down');
    };
    const e = await failure(core.getNextId({ storeName: 's', key: 'k', increment: AutoIncrement.STRONG }));
    expect(toLayottoGrpc(e)).toMatchObject({ code: 2, details: 'backend down' });
  });
});
