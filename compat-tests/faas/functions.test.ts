// WebAssembly functions end to end, against the built binary: the example functions (examples/faas)
// compiled with the assemblyscript package, `inventory` declared as a WasmFunction resource and
// `order` installed through Layotto's admin API; calls over the functions port (header id), Dapr
// HTTP invocation (@dapr/dapr) and Dapr gRPC invocation; the state (real Redis), lock, sequencer
// and event (delivered to a subscribing app) they use; update and uninstall; and every fault a
// function can have (a module that does not load, a trap, an endless loop, a memory hog, an unknown
// id), each a clear error while the sidecar and the other functions go on answering.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommunicationProtocolEnum, DaprClient, HttpMethod } from '@dapr/dapr';
import { createServer, type Server } from 'node:http';
import { freePort, ROOT, type Sidecar, startSidecar } from '../helpers/sidecar';
import { requireService } from '../../test/services';
import { until } from '../../test/wait';
import { compileAssemblyScripts, wasmTmpDir } from '../../test/wasm';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Client, RuntimeTypes } = require('layotto') as typeof import('layotto');

jest.setTimeout(120_000);

const EXAMPLE = join(ROOT, 'examples', 'faas');
const GUESTS = join(ROOT, 'sdk', 'assemblyscript', 'guests');
const run = Math.random().toString(36).slice(2, 8);
const item = `book-${run}`;
const appId = `faas-e2e-${run}`;

let ready = false;
let sc: Sidecar;
let app: Server;
/** CloudEvents the app received on topic orders. */
const events: Array<Record<string, unknown>> = [];
let dir: string;
let faasPort: number;
let adminPort: number;

const wasm = (name: string) => join(dir, `${name}.wasm`);

async function admin(op: 'install' | 'update' | 'uninstall', body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${adminPort}/wasm/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function call(id: string | undefined, query = ''): Promise<{ status: number; text: string }> {
  const r = await fetch(`http://127.0.0.1:${faasPort}/${query}`, { headers: id === undefined ? {} : { id } });
  return { status: r.status, text: await r.text() };
}

async function stock(): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/state/state_demo/${item}`);
  return r.text();
}

async function healthy(): Promise<void> {
  expect((await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/healthz`)).status).toBe(204);
}

beforeAll(async () => {
  ready = await requireService('Redis', '127.0.0.1', 6379);
  if (!ready) return;
  dir = wasmTmpDir();
  // One compiler process for all four (asc loads once).
  await compileAssemblyScripts([
    [join(EXAMPLE, 'functions', 'order.ts'), wasm('order'), ['--optimize']],
    [join(EXAMPLE, 'functions', 'inventory.ts'), wasm('inventory'), ['--optimize']],
    [join(GUESTS, 'faults.ts'), wasm('faults'), []],
    [join(GUESTS, 'hostcalls.ts'), wasm('hostcalls'), []],
  ]);
  writeFileSync(wasm('broken'), Buffer.from('\0asm\x01\0\0\0this is no module'));
  [faasPort, adminPort] = await Promise.all([freePort(), freePort()]);
  app = await subscriber(await freePort());
  sc = await startSidecar({
    appId,
    resources: {
      'components.yaml': readFileSync(join(EXAMPLE, 'resources', 'components.yaml'), 'utf8'),
      'inventory.yaml': `apiVersion: layotto.io/v1\nkind: WasmFunction\nmetadata:\n  name: inventory\nspec:\n  path: ${wasm('inventory')}\n  instances: 1\n`,
    },
    args: ['--app-port', String((app.address() as { port: number }).port), '--faas-port', String(faasPort), '--faas-admin-port', String(adminPort)],
  });
  await until(async () => (await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/metadata`).then((r) => r.json()) as { subscriptions: unknown[] }).subscriptions.length > 0, () => 'the app subscribed to orders');
  // Three in stock, saved over the Dapr state API (the value is the JSON number 3).
  const saved = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/state/state_demo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ key: item, value: 3 }]) });
  expect(saved.status).toBe(204);
});

afterAll(async () => {
  await sc?.stop();
  app?.closeAllConnections();
  await new Promise((r) => (app ? app.close(r) : r(undefined)));
});

/** The app: subscribes to orders on pubsub_demo and keeps every CloudEvent it is handed. */
function subscriber(port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/dapr/subscribe') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([{ pubsubname: 'pubsub_demo', topic: 'orders', route: 'orders' }]));
      if (req.url === '/orders') events.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
      if (req.url === '/price') return void res.writeHead(200, { 'content-type': 'text/plain' }).end(`price of ${Buffer.concat(chunks).toString('utf8')}: 42`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"SUCCESS"}');
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

const it_ = (name: string, fn: () => Promise<void>) => it(name, async () => (ready ? fn() : undefined));

describe('the inventory example', () => {
  it_('installs order through the admin API and sells over the functions port: inventory asked, state saved, event published', async () => {
    expect(await call('inventory', `?name=${item}`)).toEqual({ status: 200, text: '3' }); // declared in YAML
    expect(await admin('install', { name: 'order', instance_num: 1, vm_config: { engine: 'wasmtime', path: wasm('order') } })).toEqual({ status: 200, body: {} });
    const sold = await call('order', `?name=${item}`);
    expect(sold).toEqual({ status: 200, text: expect.stringMatching(new RegExp(`^Order (\\d+): one ${item} is yours; 2 left in stock\\.$`)) });
    expect(await stock()).toBe('2');
    await until(() => events.length >= 1, () => 'the orders event reached the app');
    const orderId = Number(/^Order (\d+)/.exec(sold.text)![1]);
    expect(events[0]).toMatchObject({ topic: 'orders', pubsubname: 'pubsub_demo', source: appId, datacontenttype: 'application/json', data: { orderId, item, left: 2 } });
    const meta = (await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/metadata`).then((r) => r.json())) as { extended: Record<string, string> };
    expect(meta.extended['faas.functions']?.split(',').sort()).toEqual(['inventory', 'order']);
  });

  it_('is callable like an app: Dapr HTTP invoke (DaprClient), Dapr gRPC invoke and Layotto InvokeService', async () => {
    const http = new DaprClient({ daprHost: '127.0.0.1', daprPort: String(sc.httpPort), communicationProtocol: CommunicationProtocolEnum.HTTP });
    const answer = await http.invoker.invoke('order', `buy?name=${item}`, HttpMethod.POST);
    expect(String(answer)).toMatch(new RegExp(`one ${item} is yours; 1 left in stock\\.$`));
    await until(() => events.length >= 2, () => 'the second orders event');
    expect(events[1]!.data).toMatchObject({ item, left: 1 });
    const grpc = new DaprClient({ daprHost: '127.0.0.1', daprPort: String(sc.grpcPort), communicationProtocol: CommunicationProtocolEnum.GRPC });
    try {
      // The gRPC SDK parses the answer as JSON: inventory's stock is a number.
      expect(await grpc.invoker.invoke('inventory', 'stock', HttpMethod.POST, item as unknown as object)).toBe(1); // sent as text/plain
    } finally {
      await grpc.stop();
    }
    const layotto = new Client(String(sc.layottoPort), '127.0.0.1');
    try {
      const got = await layotto.invoker.invoke({ id: 'inventory', method: 'stock', httpVerb: RuntimeTypes.HTTPExtension.Verb.POST, data: item });
      expect(got).toMatchObject({ content: '1' });
    } finally {
      layotto.close();
    }
    // The last copy, then sold out (409 from the function, passed on as the app's answer).
    expect((await call('order', `?name=${item}`)).text).toMatch(/0 left in stock\.$/);
    const out = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/invoke/order/method/buy?name=${item}`, { method: 'POST' });
    expect({ status: out.status, text: await out.text() }).toEqual({ status: 409, text: `Sorry, ${item} is sold out.` });
    expect(await stock()).toBe('0');
  });

  it_("reaches this sidecar's app through invocation from inside a function", async () => {
    expect(await admin('install', { name: 'hostcalls', vm_config: { path: wasm('hostcalls') } })).toEqual({ status: 200, body: {} });
    expect(await call('hostcalls', `?op=invoke&id=${appId}&method=price&value=${item}`)).toEqual({ status: 200, text: `price of ${item}: 42` });
    // A call the target refuses: the guest sees a failed host call (status 10 InternalFailure).
    expect(await call('hostcalls', '?op=invoke&id=nobody-here&method=price')).toEqual({ status: 500, text: 'status=10' });
  });

  it_('updates and uninstalls through the admin API', async () => {
    expect(await admin('update', { name: 'order', instance_num: 2 })).toEqual({ status: 200, body: {} });
    const list = (await fetch(`http://127.0.0.1:${adminPort}/wasm/list`).then((r) => r.json())) as { functions: Array<{ id: string; instances: number }> };
    expect(list.functions.find((f) => f.id === 'order')?.instances).toBe(2);
    expect(await admin('uninstall', { name: 'order' })).toEqual({ status: 200, body: {} });
    expect(await call('order', `?name=${item}`)).toEqual({ status: 404, text: JSON.stringify({ error: 'function order is not installed', kind: 'not_found' }) });
    expect(await admin('uninstall', { name: 'order' })).toEqual({ status: 404, body: { error: 'function order is not installed', kind: 'not_found' } });
    expect(await call('inventory', `?name=${item}`)).toEqual({ status: 200, text: '0' });
  });
});

describe('faults: a clear error for the call, the sidecar and other functions unaffected', () => {
  it_('a module that does not load', async () => {
    const r = await admin('install', { name: 'broken', vm_config: { path: wasm('broken') } });
    expect(r).toMatchObject({ status: 500, body: { kind: 'load', error: expect.any(String) } });
    const missing = await admin('install', { name: 'gone', vm_config: { path: join(dir, 'nope.wasm') } });
    expect(missing).toMatchObject({ status: 500, body: { kind: 'load' } });
    expect(await call('broken')).toMatchObject({ status: 404 });
    await healthy();
  });

  it_('a trap, an endless loop and a memory hog; unknown and missing ids', async () => {
    expect(await admin('install', { name: 'faults', instance_num: 1, vm_config: { path: wasm('faults') }, timeout: '1s', memory_mib: 16 })).toEqual({ status: 200, body: {} });
    const json = (r: { status: number; text: string }) => ({ status: r.status, ...(JSON.parse(r.text) as object) });
    expect(json(await call('faults', '?op=trap'))).toMatchObject({ status: 500, kind: 'trap' });
    const t0 = Date.now();
    expect(json(await call('faults', '?op=loop'))).toMatchObject({ status: 504, kind: 'timeout' });
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(json(await call('faults', '?op=grow'))).toMatchObject({ status: 500, kind: 'memory' });
    expect(await call('faults')).toMatchObject({ status: 200, text: expect.stringMatching(/^calls=\d+$/) });
    expect(json(await call('nobody'))).toEqual({ status: 404, error: 'function nobody is not installed', kind: 'not_found' });
    expect(json(await call(undefined))).toEqual({ status: 400, error: 'missing header "id": it names the function to call' });
    // Through invocation, a failing function is ERR_DIRECT_INVOKE with the reason.
    const inv = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/invoke/faults/method/x?op=trap`, { method: 'POST' });
    expect(inv.status).toBe(500);
    expect(await inv.json()).toMatchObject({ errorCode: 'ERR_DIRECT_INVOKE', message: expect.stringMatching(/^failed to invoke, id: faults, err: /) });
    await healthy();
    expect(await call('inventory', `?name=${item}`)).toEqual({ status: 200, text: '0' });
  });
});
