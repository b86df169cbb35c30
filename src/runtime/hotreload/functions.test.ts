// WebAssembly functions under hot reload, in-process with the real engine and real AssemblyScript
// guests (version1/version2 share the id `versioned`; echo is another): the reconciler applying
// WasmFunction resources through the host, and the watch on the running functions' .wasm files.
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { ComponentStore } from '../../components/store';
import { createCore } from '../../core';
import { NO_RESILIENCY } from '../../core/resiliency/types';
import { createFunctionHost } from '../../faas/engine';
import { wasmFunctionSchema } from '../../faas/spec';
import type { FunctionHost, HostServices } from '../../faas/types';
import { sleep, until } from '../../../test/wait';
import { compileAssemblyScripts, wasmTmpDir } from '../../../test/wasm';
import type { Functions } from '../faas';
import { type LoadedFunction, loadResources } from '../loader';
import { ComponentProcessor } from '../processor';
import { Reconciler } from './reconciler';
import type { Resources } from './resources';
import { SwappableResiliency } from './resiliency';
import { moduleTargets, watchModules } from './wasm-files';

const GUESTS = join(__dirname, '../../../sdk/assemblyscript/guests');
const dir = wasmTmpDir();
const wasm = (name: string) => join(dir, `${name}.wasm`);
const silent = pino({ level: 'silent' });
const BROKEN = Buffer.from('\0asm\x01\0\0\0this is no module');
// The test guests make no host calls.
const services = new Proxy({}, { get: () => () => Promise.reject(new Error('no host services in this test')) }) as HostServices;

beforeAll(async () => {
  await compileAssemblyScripts([
    [join(GUESTS, 'version1.ts'), wasm('v1'), []],
    [join(GUESTS, 'version2.ts'), wasm('v2'), []],
    [join(GUESTS, 'echo.ts'), wasm('echo'), []],
  ]);
}, 120_000);

const hosts: FunctionHost[] = [];
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.close()));
});

function newHost(): FunctionHost {
  const host = createFunctionHost(services);
  hosts.push(host);
  return host;
}

async function text(host: FunctionHost, id: string): Promise<string> {
  return (await host.call(id, { method: 'GET', path: '/', headers: [], body: Buffer.alloc(0) })).body.toString();
}

function capture() {
  const lines: string[] = [];
  return { lines, log: pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s).msg) }) };
}

describe('moduleTargets', () => {
  it('watches each module file once, through its directory', () => {
    const t = moduleTargets([{ path: '/a/f.wasm' }, { path: '/a/g.wasm' }, { path: '/b/../a/f.wasm' }, { path: '/c/h.wasm' }]);
    expect([...t.files].sort()).toEqual(['/a/f.wasm', '/a/g.wasm', '/c/h.wasm']);
    expect([...t.dirs].sort()).toEqual(['/a', '/c']);
  });
});

describe('watchModules', () => {
  it('a changed module updates its function, a broken one is logged and the old keeps serving, an uninstalled one is no longer watched', async () => {
    const host = newHost();
    const { lines, log } = capture();
    const live = join(wasmTmpDir(), 'versioned.wasm');
    copyFileSync(wasm('v1'), live);
    await host.install({ id: 'versioned', path: live, instances: 1 });
    const watch = watchModules(host, log, 20);
    try {
      await watch.sync();
      copyFileSync(wasm('v2'), live);
      await until(async () => (await text(host, 'versioned')) === 'v2', () => 'versioned to answer v2');
      writeFileSync(live, BROKEN);
      await until(() => lines.some((l) => l.startsWith(`function versioned: module ${live} changed but did not load, the running one keeps serving: `)), () => lines.join('\n'));
      expect(await text(host, 'versioned')).toBe('v2');
      await host.uninstall('versioned');
      await watch.sync();
      const before = lines.length;
      copyFileSync(wasm('v1'), live);
      await sleep(500);
      expect(lines.slice(before)).toEqual([]);
    } finally {
      await watch.close();
    }
  });
});

describe('Reconciler: WasmFunction resources', () => {
  function fn(name: string, path: string, more: { scopes?: string[]; instances?: number } = {}, file = join(dir, `${name}.yaml`)): LoadedFunction {
    const manifest = wasmFunctionSchema.parse({ apiVersion: 'layotto.io/v1', kind: 'WasmFunction', metadata: { name }, spec: { path, instances: more.instances ?? 1 }, scopes: more.scopes });
    return { manifest, file, line: 1 };
  }
  const resources = (functions: LoadedFunction[]): Resources => ({ loaded: { ...loadResources([], silent), functions }, configuration: { secrets: { scopes: [] } } });

  function setup(initial: LoadedFunction[], host: FunctionHost | undefined) {
    const store = new ComponentStore();
    const processorOptions = { appId: 'app1', namespace: '', log: silent };
    const processor = new ComponentProcessor(store, processorOptions);
    const resiliency = new SwappableResiliency(NO_RESILIENCY);
    const core = createCore({ components: store, appId: 'app1', namespace: '', runtimeVersion: 'test' }, { protocol: 'http', channelAddress: '127.0.0.1' }, { resiliency });
    const { lines, log } = capture();
    let changes = 0;
    const functions: Functions | undefined = host && { host, changed: async () => void changes++, stop: () => host.close() };
    const reconciler = new Reconciler({ store, processor, processorOptions, core, appId: 'app1', appProtocol: 'http', resiliency, meshProxy: () => undefined, functions: () => functions, drainMs: 100, log }, resources(initial));
    return { reconciler, lines, changes: () => changes };
  }

  it('installs, updates and uninstalls; a bad edit keeps the running function; only this app\'s count', async () => {
    const host = newHost();
    await host.install({ id: 'versioned', path: wasm('v1'), instances: 1 });
    const { reconciler, lines, changes } = setup([fn('versioned', wasm('v1'))], host);
    // Nothing changed: nothing done.
    await reconciler.reconcile(resources([fn('versioned', wasm('v1'))]));
    expect(changes()).toBe(0);
    await reconciler.reconcile(resources([fn('versioned', wasm('v2')), fn('echo', wasm('echo'))]));
    expect(await text(host, 'versioned')).toBe('v2');
    expect(host.has('echo')).toBe(true);
    expect(changes()).toBe(1);
    // A module that does not compile: logged with the file, v2 keeps answering.
    const broken = join(dir, 'broken.wasm');
    writeFileSync(broken, BROKEN);
    await reconciler.reconcile(resources([fn('versioned', broken), fn('echo', wasm('echo'))]));
    expect(await text(host, 'versioned')).toBe('v2');
    expect(lines).toContainEqual(expect.stringMatching(/^hot reload: function versioned in \S*versioned\.yaml:1 not updated, the running one keeps serving: \S*broken\.wasm is not a valid WebAssembly module/));
    // Scoped to another app: as if deleted. A duplicate id is logged and ignored.
    await reconciler.reconcile(resources([fn('versioned', broken), fn('echo', wasm('echo'), { scopes: ['other'] }), fn('versioned', wasm('v1'), {}, '/res/dup.yaml')]));
    expect(host.has('echo')).toBe(false);
    expect(lines).toContainEqual(expect.stringMatching(/^hot reload: \/res\/dup\.yaml:1: metadata\.name: a WasmFunction named "versioned" is already defined in \S*versioned\.yaml:1; ignored$/));
    await reconciler.reconcile(resources([]));
    expect(host.has('versioned')).toBe(false);
    expect(lines).not.toContainEqual(expect.stringMatching(/needs a restart/));
  });

  it('leaves a function it did not declare alone (config.json\'s, the admin API\'s)', async () => {
    const host = newHost();
    await host.install({ id: 'versioned', path: wasm('v1'), instances: 1 });
    const { reconciler, lines } = setup([], host);
    await reconciler.reconcile(resources([fn('versioned', wasm('v2'))]));
    expect(await text(host, 'versioned')).toBe('v1');
    expect(lines).toContainEqual(expect.stringMatching(/function versioned in \S+:1 not installed: a function with this id already runs/));
  });

  it('without a functions host, a new WasmFunction is logged as needing a restart', async () => {
    const { reconciler, lines } = setup([], undefined);
    await reconciler.reconcile(resources([fn('echo', wasm('echo'))]));
    expect(lines).toContainEqual('WasmFunction resources changed while no function runs (no functions port): starting the functions host needs a restart');
  });
});
