// Lifecycle.ApplyConfiguration end to end below the gRPC face: the core checks and finds the
// component, the runtime rebuilds it through the processor and swaps it in.
import pino from 'pino';
import { ComponentStore } from '../components/store';
import { LifecycleCore } from '../core/lifecycle';
import { RuntimeError } from '../errors/runtime-error';
import { parseLayottoConfig } from './layotto-config';
import { ComponentProcessor } from './processor';
import { componentReapplier } from './reapply';

const log = pino({ level: 'silent' });
const opts = { appId: 'app1', namespace: '', log };

async function setup() {
  const grpcConfig = {
    hellos: { greeter: { type: 'helloworld', hello: 'hi' } },
    sequencer: { seq: { type: 'in-memory', biggerThan: { k: 10 } } },
    pub_subs: { ps: { type: 'in-memory' } },
  };
  const text = JSON.stringify({ servers: [{ listeners: [{ address: '127.0.0.1:1', filter_chains: [{ filters: [{ type: 'grpc', config: { server_name: 'runtime', grpc_config: grpcConfig } }] }] }] }] });
  const store = new ComponentStore();
  await new ComponentProcessor(store, opts).applyAll(parseLayottoConfig(text, 'config.json').components);
  const lifecycle = new LifecycleCore({ components: store, appId: 'app1', namespace: '', runtimeVersion: 'test' });
  lifecycle.setReapply(componentReapplier(store, opts));
  return { store, lifecycle };
}

const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: RuntimeError) => `${e.kind}: ${e.message}`);

describe('ApplyConfiguration', () => {
  it('rebuilds the component with the new metadata merged over the old, and closes the old one', async () => {
    const { store, lifecycle } = await setup();
    const old = store.get('hello', 'greeter')!;
    const closed = jest.spyOn(old.instance, 'close');
    await lifecycle.applyConfiguration({ kind: 'hellos', name: 'greeter', metadata: { hello: 'hello again' } });
    const now = store.get('hello', 'greeter')!;
    expect(now.instance).not.toBe(old.instance);
    expect(await now.instance.hello({ name: 'x' })).toEqual({ hello: 'hello again, x' });
    expect(closed).toHaveBeenCalledTimes(1);

    await lifecycle.applyConfiguration({ kind: 'sequencer', name: 'seq', metadata: { segmentStep: '5' } });
    expect(store.get('sequencer', 'seq')!.meta.properties).toEqual({ 'biggerThan.k': '10', segmentStep: '5' });
  });

  it('keeps the old instance when the new one fails to initialize', async () => {
    const { store, lifecycle } = await setup();
    const old = store.get('sequencer', 'seq')!;
    expect(await codeOf(lifecycle.applyConfiguration({ kind: 'sequencer', name: 'seq', metadata: { segmentStep: 'many' } }))).toMatch(
      /^LIFECYCLE_APPLY: fail to apply configuration to component kind: sequencer , name: seq: component seq \(sequencer.in-memory\/v1\) failed to initialize: metadata "segmentStep" must be a positive integer/,
    );
    expect(store.get('sequencer', 'seq')).toBe(old);
  });

  it("answers Layotto's errors for missing fields and unknown components, and refuses pub/sub", async () => {
    const { lifecycle } = await setup();
    expect(await codeOf(lifecycle.applyConfiguration({ kind: '', name: 'x', metadata: { a: 'b' } }))).toBe('LIFECYCLE_NO_FIELD: field kind is not configured');
    expect(await codeOf(lifecycle.applyConfiguration({ kind: 'state', name: '', metadata: { a: 'b' } }))).toBe('LIFECYCLE_NO_FIELD: field name is not configured');
    expect(await codeOf(lifecycle.applyConfiguration({ kind: 'state', name: 'x', metadata: {} }))).toBe('LIFECYCLE_NO_FIELD: field metadata is not configured');
    expect(await codeOf(lifecycle.applyConfiguration({ kind: 'hellos', name: 'nope', metadata: { a: 'b' } }))).toBe('LIFECYCLE_COMPONENT_NOT_FOUND: component not found. kind: hellos , name: nope');
    expect(await codeOf(lifecycle.applyConfiguration({ kind: 'frob', name: 'greeter', metadata: { a: 'b' } }))).toBe('LIFECYCLE_COMPONENT_NOT_FOUND: component not found. kind: frob , name: greeter');
    expect(await codeOf(lifecycle.applyConfiguration({ kind: 'pub_subs', name: 'ps', metadata: { a: 'b' } }))).toMatch(/^LIFECYCLE_NOT_SUPPORTED: /);
    // Our own kind names work as well as Layotto's section keys.
    expect(await codeOf(lifecycle.applyConfiguration({ kind: 'hello', name: 'greeter', metadata: { hello: 'yo' } }))).toBe('ok');
  });

  it('runs concurrent re-configurations of one component one after the other', async () => {
    const { store, lifecycle } = await setup();
    await Promise.all([
      lifecycle.applyConfiguration({ kind: 'hellos', name: 'greeter', metadata: { hello: 'one' } }),
      lifecycle.applyConfiguration({ kind: 'hellos', name: 'greeter', metadata: { hello: 'two' } }),
    ]);
    expect(await store.get('hello', 'greeter')!.instance.hello({ name: '' })).toEqual({ hello: 'two' });
  });
});
