// InputBindingsCore with a scripted input binding and a scripted app: which bindings start
// (direction, the app's probe), acknowledgement and redelivery, and what the app's answer asks for
// (states saved with the app's key prefix, data sent on to output bindings).
import type { AppBindingEvent, AppBindingReply, AppChannel } from '../app-channel/types';
import { emptyReply } from '../app-channel/binding-replies';
import type { BindingInvokeRequest, BindingReadHandler } from '../components/bindings/types';
import { InMemoryStateStore } from '../components/state/in-memory';
import { ComponentStore } from '../components/store';
import { createCore } from '.';

/** An input (and output) binding whose events the test pushes. */
class ScriptedBinding {
  handler?: BindingReadHandler;
  closed = false;
  invoked: BindingInvokeRequest[] = [];
  async init() {}
  async close() {}
  features() {
    return [];
  }
  operations() {
    return ['create'];
  }
  async invoke(req: BindingInvokeRequest) {
    this.invoked.push(req);
    return undefined;
  }
  async read(handler: BindingReadHandler) {
    this.handler = handler;
    return { close: async () => void (this.closed = true) };
  }
  push(data: string, metadata: Record<string, string> = {}) {
    return this.handler!({ data: Buffer.from(data), metadata });
  }
}

function app(listening: string[], answer: (ev: AppBindingEvent) => AppBindingReply | Promise<AppBindingReply> = (ev) => emptyReply(ev.data)) {
  const got: AppBindingEvent[] = [];
  const probes: string[] = [];
  const channel = {
    kind: 'fake',
    listensToBinding: async (name: string, route: string) => {
      probes.push(route);
      return listening.includes(name);
    },
    deliverBindingEvent: async (ev: AppBindingEvent) => {
      got.push(ev);
      return answer(ev);
    },
  } as unknown as AppChannel;
  return { channel, got, probes };
}

async function setup(bindings: Record<string, Record<string, string>>) {
  const components = new ComponentStore();
  const instances: Record<string, ScriptedBinding> = {};
  for (const [name, properties] of Object.entries(bindings)) {
    const instance = (instances[name] = new ScriptedBinding());
    components.add({ kind: 'bindings', name, meta: { name, type: 'bindings.scripted', version: 'v1', properties, appId: 'app1', namespace: '' }, instance, capabilities: [] });
  }
  const store = new InMemoryStateStore();
  const meta = { name: 'store', type: 'state.in-memory', version: 'v1', properties: {}, appId: 'app1', namespace: '' };
  await store.init(meta);
  components.add({ kind: 'state', name: 'store', meta, instance: store, capabilities: [] });
  const core = createCore({ components, appId: 'app1', namespace: '', runtimeVersion: 't' }, { protocol: 'http', channelAddress: '127.0.0.1' });
  return { core, instances, store };
}

describe('starting', () => {
  test('reads only what the app listens to, probing the route; direction input skips the probe, output-only never reads', async () => {
    const { core, instances } = await setup({
      listened: { route: '/custom' },
      ignored: {},
      explicit: { direction: 'input, output' },
      outonly: { direction: 'output' },
    });
    const a = app(['listened']);
    await core.inputBindings.startApp(a.channel);
    expect(a.probes).toEqual(['/custom', 'ignored']);
    expect(core.inputBindings.reading().sort()).toEqual(['explicit', 'listened']);
    expect(instances.ignored!.handler).toBeUndefined();
    expect(instances.outonly!.handler).toBeUndefined();
    await core.inputBindings.close();
    expect(instances.listened!.closed).toBe(true);
    expect(instances.explicit!.closed).toBe(true);
  });

  test('a probe that fails leaves that binding out and goes on with the others', async () => {
    const { core } = await setup({ a: {}, b: {} });
    const channel = {
      listensToBinding: async (name: string) => {
        if (name === 'a') throw new Error('connect ECONNREFUSED');
        return true;
      },
    } as unknown as AppChannel;
    await core.inputBindings.startApp(channel);
    expect(core.inputBindings.reading()).toEqual(['b']);
  });
});

describe('delivering', () => {
  test('the event goes to the route with its metadata; the app body is the ack; a refusal rejects (redelivery)', async () => {
    const { core, instances } = await setup({ b: { route: 'in' } });
    let fail = true;
    const a = app(['b'], (ev) => {
      if (fail) throw new Error('status code: 500');
      return emptyReply(Buffer.from('ok'));
    });
    await core.inputBindings.startApp(a.channel);
    await expect(instances.b!.push('{"n":1}', { k: 'v' })).rejects.toThrow('500');
    fail = false;
    await expect(instances.b!.push('{"n":1}', { k: 'v' })).resolves.toEqual(Buffer.from('ok'));
    expect(a.got[1]).toEqual({ name: 'b', route: 'in', data: Buffer.from('{"n":1}'), metadata: { k: 'v' } });
    await core.inputBindings.close();
    await expect(instances.b!.push('x')).rejects.toThrow('closed');
  });

  test("the answer's states are saved with the app's prefix and its data goes to the `to` bindings", async () => {
    const { core, instances, store } = await setup({ src: { direction: 'input' }, out1: { direction: 'output' }, out2: { direction: 'output' } });
    const a = app(['src'], () => ({
      ...emptyReply(Buffer.alloc(0)),
      storeName: 'store',
      states: [{ key: 'k1', value: Buffer.from('"v1"'), metadata: {}, contentType: 'application/json' }],
      to: ['out1', 'out2'],
      data: Buffer.from('{"x":1}'),
    }));
    await core.inputBindings.startApp(a.channel);
    await instances.src!.push('{}');
    expect((await store.get({ key: 'app1||k1', metadata: {} }))?.data.toString()).toBe('"v1"');
    for (const out of ['out1', 'out2']) {
      expect(instances[out]!.invoked).toHaveLength(1);
      expect(instances[out]!.invoked[0]).toMatchObject({ operation: 'create', data: Buffer.from('{"x":1}') });
    }
  });

  test('a failing `to` binding or a missing store is logged; the event stays acknowledged', async () => {
    const { core, instances } = await setup({ src: { direction: 'input' } });
    const a = app(['src'], () => ({ ...emptyReply(Buffer.from('body')), storeName: 'nope', states: [{ key: 'k', value: Buffer.from('1'), metadata: {} }], to: ['missing'], concurrency: 'parallel' }));
    await core.inputBindings.startApp(a.channel);
    await expect(instances.src!.push('{}')).resolves.toEqual(Buffer.from('body'));
  });
});
