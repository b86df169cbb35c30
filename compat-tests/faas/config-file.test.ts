// Functions declared in Layotto's config.json: a listener with the `Layotto` stream filter gives the
// functions and the functions port, one with `wasm_filter` the admin port; `function_1` of
// Layotto's demo (here the example's `inventory`) answers there and through invocation. A declared
// function whose module does not load stops startup, naming it.
import { join } from 'node:path';
import { runtimeListener } from '../helpers/layotto-config';
import { freePort, ROOT, type Sidecar, startSidecar } from '../helpers/sidecar';
import { compileAssemblyScript, wasmTmpDir } from '../../test/wasm';

jest.setTimeout(120_000);

let sc: Sidecar;
let faasPort: number;
let adminPort: number;

const listener = (name: string, port: number, streamFilter: unknown) => ({
  name,
  address: `127.0.0.1:${port}`,
  bind_port: true,
  filter_chains: [{ filters: [{ type: 'proxy', config: { downstream_protocol: 'Http1', router_config_name: 'wasm_router' } }] }],
  stream_filters: [streamFilter],
});

beforeAll(async () => {
  const wasm = join(wasmTmpDir(), 'inventory.wasm');
  await compileAssemblyScript(join(ROOT, 'examples', 'faas', 'functions', 'inventory.ts'), wasm, ['--optimize']);
  [faasPort, adminPort] = await Promise.all([freePort(), freePort()]);
  sc = await startSidecar({
    layottoConfig: (port) => ({
      servers: [
        {
          listeners: [
            runtimeListener(port, { state: { state_demo: { type: 'in-memory' } }, app: { app_id: 'faas-config' } }),
            listener('wasm', faasPort, { type: 'Layotto', config: { function2: { name: 'inventory', instance_num: 1, vm_config: { engine: 'wasmtime', path: wasm } } } }),
            listener('wasm_admin', adminPort, { type: 'wasm_filter' }),
          ],
        },
      ],
    }),
  });
  const saved = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/state/state_demo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[{"key":"book1","value":100}]' });
  expect(saved.status).toBe(204);
});

afterAll(async () => {
  await sc?.stop();
});

it('serves the declared function on the listener of its Layotto filter, and the admin API on wasm_filter\'s', async () => {
  const r = await fetch(`http://127.0.0.1:${faasPort}/?name=book1`, { headers: { id: 'inventory' } });
  expect({ status: r.status, text: await r.text() }).toEqual({ status: 200, text: '100' });
  const inv = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/invoke/inventory/method/stock?name=book1`);
  expect(await inv.text()).toBe('100');
  const list = await fetch(`http://127.0.0.1:${adminPort}/wasm/list`).then((x) => x.json());
  expect(list).toEqual({ functions: [{ id: 'inventory', path: expect.stringMatching(/inventory\.wasm$/), instances: 1 }] });
  expect(sc.output()).not.toMatch(/stream filter "(Layotto|wasm_filter)" is not supported/);
});

it('refuses to start with a declared function that does not load, naming it', async () => {
  const bad = await startSidecar({
    wait: false,
    resources: { 'ghost.yaml': 'apiVersion: layotto.io/v1\nkind: WasmFunction\nmetadata:\n  name: ghost\nspec:\n  path: missing/ghost.wasm\n' },
  });
  expect(await bad.exited).toBe(1);
  // The log line quotes the message, so its inner quotes come escaped.
  expect(bad.output()).toMatch(/fatal error from runtime: function \\?"ghost\\?" \(\S*missing\/ghost\.wasm\): cannot read /);
});
