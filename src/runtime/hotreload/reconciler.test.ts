// The reconciler below the watcher: resources in, the live store, core and logs out, with the
// startup pipeline's in-memory components.
import pino from 'pino';
import { ComponentStore } from '../../components/store';
import type { RuntimeConfiguration } from '../../config/configuration';
import { createCore } from '../../core';
import { NO_RESILIENCY } from '../../core/resiliency/types';
import { type LoadedComponent, type LoadResult, loadResources, type LoadedResiliency } from '../loader';
import { componentSchema, resiliencySchema } from '../manifest';
import { ComponentProcessor } from '../processor';
import { InFlight } from './inflight';
import { Reconciler } from './reconciler';
import type { Resources } from './resources';
import { SwappableResiliency } from './resiliency';

const silent = pino({ level: 'silent' });

function component(name: string, type: string, metadata: Record<string, string> = {}, file = 'components.yaml'): LoadedComponent {
  const manifest = componentSchema.parse({ apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name }, spec: { type, version: 'v1', metadata: Object.entries(metadata).map(([n, value]) => ({ name: n, value })) } });
  return { manifest, file, line: 1, lineOf: () => 1 };
}

function resources(components: LoadedComponent[], more: Partial<LoadResult> = {}, configuration: RuntimeConfiguration = { secrets: { scopes: [] } }): Resources {
  return { loaded: { ...loadResources([], silent), components, ...more }, configuration };
}

async function setup(initial: LoadedComponent[]) {
  const inflight = new InFlight();
  const raw = new Map<object, Record<string, unknown>>();
  const store = new ComponentStore((c) => {
    const tracked = inflight.track(c.instance);
    raw.set(tracked, c.instance as unknown as Record<string, unknown>);
    return tracked;
  });
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s).msg) });
  const processorOptions = { appId: 'app1', namespace: '', log: silent };
  const processor = new ComponentProcessor(store, processorOptions);
  await processor.applyAll(initial);
  const resiliency = new SwappableResiliency(NO_RESILIENCY);
  const core = createCore({ components: store, appId: 'app1', namespace: '', runtimeVersion: 'test' }, { protocol: 'http', channelAddress: '127.0.0.1' }, { resiliency });
  const reconciler = new Reconciler({ store, processor, processorOptions, core, appId: 'app1', appProtocol: 'http', resiliency, meshProxy: () => undefined, inflight, drainMs: 2000, log }, resources(initial));
  return { store, core, reconciler, lines, inflight, resiliency, raw: (o: object) => raw.get(o)! };
}

const greeter = (hello: string) => component('greeter', 'hello.helloworld', { hello });

describe('Reconciler', () => {
  it('creates, updates (new instance swapped in after its init) and deletes components', async () => {
    const { store, reconciler, lines, raw } = await setup([greeter('hi'), component('s1', 'state.in-memory')]);
    const old = store.get('hello', 'greeter')!;
    const closed = jest.spyOn(raw(old.instance), 'close' as never);
    const summary = await reconciler.reconcile(resources([greeter('hello again'), component('s2', 'state.in-memory')]));
    expect(summary).toEqual({ created: ['s2'], updated: ['greeter'], deleted: ['s1'], failed: [] });
    expect(await store.get('hello', 'greeter')!.instance.hello({ name: 'x' })).toEqual({ hello: 'hello again, x' });
    expect(store.get('state', 's1')).toBeUndefined();
    expect(store.get('state', 's2')).toBeDefined();
    await reconciler.close();
    expect(closed).toHaveBeenCalledTimes(1);
    expect(lines).toEqual(expect.arrayContaining(['Detected Component has been created: s2 (state.in-memory) in components.yaml', 'Detected Component has been deleted: s1 (state.in-memory) in components.yaml']));
    // Nothing changed: nothing happens.
    expect(await reconciler.reconcile(resources([greeter('hello again'), component('s2', 'state.in-memory')]))).toEqual({ created: [], updated: [], deleted: [], failed: [] });
  });

  it('a replaced instance is closed only after the calls holding it finished', async () => {
    const { store, reconciler, inflight, raw } = await setup([greeter('hi')]);
    const old = store.get('hello', 'greeter')!;
    let finish!: () => void;
    raw(old.instance).hello = () => new Promise((r) => (finish = () => r({ hello: 'slow' })));
    const closed = jest.spyOn(raw(old.instance), 'close' as never);
    const slow = old.instance.hello({ name: 'x' });
    expect(inflight.active(old.instance)).toBe(1);
    await reconciler.reconcile(resources([greeter('new')]));
    expect(store.get('hello', 'greeter')!.instance).not.toBe(old.instance);
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).not.toHaveBeenCalled();
    finish();
    expect(await slow).toEqual({ hello: 'slow' });
    await reconciler.close();
    expect(closed).toHaveBeenCalledTimes(1);
  });

  it('a change that fails to build leaves the running component serving, logged with file and reason', async () => {
    const { store, reconciler, lines } = await setup([greeter('hi')]);
    const old = store.get('hello', 'greeter')!.instance;
    const broken = component('greeter', 'hello.nosuch', {}, '/res/hello.yaml');
    expect((await reconciler.reconcile(resources([broken]))).failed).toEqual(['greeter']);
    expect(store.get('hello', 'greeter')!.instance).toBe(old);
    const again = await setup([greeter('hi')]);
    const wrong = component('greeter', 'hello.helloworld', {}, '/res/hello.yaml');
    jest.spyOn(ComponentProcessor.prototype, 'apply').mockRejectedValueOnce(new Error('connection refused'));
    expect((await again.reconciler.reconcile(resources([wrong]))).failed).toEqual(['greeter']);
    expect(await again.store.get('hello', 'greeter')!.instance.hello({ name: 'x' })).toEqual({ hello: 'hi, x' });
    expect(again.lines.some((l) => l.includes('component greeter not updated, the running one keeps serving: /res/hello.yaml:1: connection refused'))).toBe(true);
    expect(lines.some((l) => l.includes("couldn't find component type hello.nosuch"))).toBe(true);
  });

  it('secret stores first: a new component may take a secret from a secret store added with it', async () => {
    process.env.HOTRELOAD_TEST_GREETING = 'from a secret';
    const { store, reconciler } = await setup([]);
    const g = component('greeter', 'hello.helloworld');
    g.manifest.spec.metadata = [{ name: 'hello', secretKeyRef: { name: 'HOTRELOAD_TEST_GREETING', key: 'HOTRELOAD_TEST_GREETING' } }];
    g.manifest.auth = { secretStore: 'env' };
    const summary = await reconciler.reconcile(resources([g, component('env', 'secretstores.local.env')]));
    expect(summary.created).toEqual(['env', 'greeter']);
    expect(await store.get('hello', 'greeter')!.instance.hello({ name: 'x' })).toEqual({ hello: 'from a secret, x' });
  });

  it('Configuration secret scopes apply at once; a bad Resiliency keeps the previous policies', async () => {
    const { core, reconciler, resiliency, lines } = await setup([component('env', 'secretstores.local.env')]);
    expect(core.secrets.isAllowed('env', 'PATH')).toBe(true);
    await reconciler.reconcile({ ...resources([component('env', 'secretstores.local.env')]), configuration: { secrets: { scopes: [{ storeName: 'env', defaultAccess: 'deny', allowedSecrets: [], deniedSecrets: [] }] } } });
    expect(core.secrets.isAllowed('env', 'PATH')).toBe(false);
    // Access control for calls from other sidecars, from none to deny-all.
    expect(core.invoke.authorize({ method: 'm', verb: 'GET', headers: {} })).toBeUndefined();
    await reconciler.reconcile({ ...resources([component('env', 'secretstores.local.env')]), configuration: { secrets: { scopes: [] }, accessControl: { defaultAction: 'deny', trustDomain: 'public', policies: [] } } });
    expect(core.invoke.authorize({ method: 'm', verb: 'GET', headers: {} })).toMatch(/access control policy has denied access/);
    const set = jest.spyOn(resiliency, 'set');
    const manifest = resiliencySchema.parse({ apiVersion: 'dapr.io/v1alpha1', kind: 'Resiliency', metadata: { name: 'r' }, spec: { policies: { timeouts: { t: 'not a duration' } }, targets: {} } });
    const bad: LoadedResiliency = { manifest, file: '/res/resiliency.yaml', line: 1, lineOf: () => 7 };
    await reconciler.reconcile(resources([component('env', 'secretstores.local.env')], { resiliencies: [bad] }));
    expect(set).not.toHaveBeenCalled();
    expect(lines.some((l) => l.startsWith('hot reload: Resiliency not applied, the previous policies stay: /res/resiliency.yaml:7'))).toBe(true);
  });
});
