// The engine end to end in-process: real AssemblyScript guests (sdk/assemblyscript/guests) compiled
// with the assemblyscript package, run in worker threads against an in-memory HostServices.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { until } from '../../../test/wait';
import { type AscJob, compileAssemblyScripts, wasmTmpDir } from '../../../test/wasm';
import { FunctionError, type FunctionHost, type FunctionRequest, type HostServices } from '../types';
import { createFunctionHost } from './index';

const GUESTS = join(__dirname, '../../../sdk/assemblyscript/guests');
const dir = wasmTmpDir();
const wasm = (name: string) => join(dir, `${name}.wasm`);

class FakeServices implements HostServices {
  state = new Map<string, Buffer>();
  published: Array<{ pubsub: string; topic: string; data: string; contentType: string }> = [];
  locks = new Map<string, string>();
  ids = new Map<string, bigint>();
  logs: Array<{ fn: string; level: number; message: string }> = [];
  private check(store: string) {
    if (store === 'broken') throw new Error('store broken is down');
  }
  async getState(store: string, key: string) {
    this.check(store);
    return this.state.get(`${store}/${key}`);
  }
  async invoke(id: string, method: string, data: Buffer) {
    if (id === 'missing') throw new Error('no app missing');
    return Buffer.from(`${id}/${method}:${data.toString()}`);
  }
  async saveState(store: string, key: string, value: Buffer) {
    this.check(store);
    this.state.set(`${store}/${key}`, Buffer.from(value));
  }
  async publish(pubsub: string, topic: string, data: Buffer, contentType: string) {
    this.check(pubsub);
    this.published.push({ pubsub, topic, data: data.toString(), contentType });
  }
  async tryLock(store: string, resource: string, owner: string) {
    this.check(store);
    const k = `${store}/${resource}`;
    if (this.locks.has(k)) return false;
    this.locks.set(k, owner);
    return true;
  }
  async unlock(store: string, resource: string, owner: string) {
    this.check(store);
    const k = `${store}/${resource}`;
    if (this.locks.get(k) !== owner) return false;
    this.locks.delete(k);
    return true;
  }
  async nextId(store: string, key: string) {
    this.check(store);
    const next = (this.ids.get(key) ?? 0n) + 1n;
    this.ids.set(key, next);
    return next;
  }
  log(fn: string, level: number, message: string) {
    this.logs.push({ fn, level, message });
  }
}

const get = (path: string, headers: Array<[string, string]> = [], body = ''): FunctionRequest => ({
  method: body ? 'POST' : 'GET',
  path,
  headers,
  body: Buffer.from(body),
});

async function failure(p: Promise<unknown>): Promise<FunctionError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(FunctionError);
  return e as FunctionError;
}

let services: FakeServices;
let host: FunctionHost;

beforeAll(async () => {
  const names = ['echo', 'hostcalls', 'faults', 'noid', 'version1', 'version2', 'raw_0_1_0', 'starttrap', 'nomarker'];
  await compileAssemblyScripts([
    ...names.map((name): AscJob => [join(GUESTS, `${name}.ts`), wasm(name)]),
    [join(GUESTS, 'faults.ts'), wasm('faults-optimized'), ['--optimize']],
  ]);
  writeFileSync(join(dir, 'notwasm.wasm'), 'this is not a module');
  writeFileSync(join(dir, 'truncated.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 9, 1]));
}, 240_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeEach(() => {
  services = new FakeServices();
  host = createFunctionHost(services);
});
afterEach(() => host.close());

describe('requests and responses', () => {
  test('headers, method, path and body reach the guest; its status, headers and body come back', async () => {
    await host.install({ id: 'echo', path: wasm('echo'), instances: 1 });
    const res = await host.call('echo', get('/items/1', [['x-echo', 'hi']], 'payload'));
    expect(res.status).toBe(201);
    expect(res.headers).toEqual(expect.arrayContaining([['x-fn', 'echo']]));
    expect(res.body.toString()).toBe('POST /items/1 hi payload');
  });

  test('an empty body is replaced by the query string, as Layotto does', async () => {
    await host.install({ id: 'echo', path: wasm('echo'), instances: 1 });
    const res = await host.call('echo', get('/?name=book1'));
    expect(res.body.toString()).toBe('GET /?name=book1 - name=book1');
  });

  test('an ABI 0.1.0 guest writing the response body buffer and header map directly', async () => {
    await host.install({ id: 'raw', path: wasm('raw_0_1_0'), instances: 1 });
    const res = await host.call('raw', get('/p?q=1', [['x-in', 'v']], 'abc'));
    expect(res.status).toBe(202);
    expect(res.headers).toEqual([['x-raw', 'yes']]);
    expect(res.body.toString()).toBe('raw got abc x-in=v path=/p?q=1');
  });

  test('many concurrent calls spread over the instances all get their own answer', async () => {
    await host.install({ id: 'echo', path: wasm('echo'), instances: 3 });
    const answers = await Promise.all(Array.from({ length: 150 }, (_, i) => host.call('echo', get(`/${i}`, [], `n${i}`))));
    answers.forEach((r, i) => expect(r.body.toString()).toBe(`POST /${i} - n${i}`));
  });
});

describe('host calls', () => {
  beforeEach(() => host.install({ id: 'hostcalls', path: wasm('hostcalls'), instances: 1 }));
  const call = (q: string) => host.call('hostcalls', get(`/?${q}`)).then((r) => `${r.status} ${r.body.toString()}`);

  test('state: save, get, not found, store failure as status codes', async () => {
    expect(await call('op=save&store=s&key=k&value=v1')).toBe('200 saved');
    expect(services.state.get('s/k')?.toString()).toBe('v1');
    expect(await call('op=get&store=s&key=k')).toBe('200 v1');
    expect(await call('op=get&store=s&key=nope')).toBe('500 status=1');
    expect(await call('op=get&store=broken&key=k')).toBe('500 status=10');
    expect(await call('op=save&store=broken&key=k&value=x')).toBe('500 status=10');
    expect(services.logs).toEqual(expect.arrayContaining([{ fn: 'hostcalls', level: 4, message: 'getState failed: store broken is down' }]));
  });

  test('large values cross the bridge both ways', async () => {
    const size = 3 * 1024 * 1024 + 7;
    expect(await call(`op=save&store=s&key=big&size=${size}`)).toBe('200 saved');
    const stored = services.state.get('s/big')!;
    expect(stored.length).toBe(size);
    let sum = 0;
    for (const b of stored) sum = (Math.imul(sum, 31) + b) >>> 0;
    expect(await call('op=size&store=s&key=big')).toBe(`200 ${size}:${sum}`);
    const res = await host.call('hostcalls', get('/?op=get&store=s&key=big'));
    expect(res.body.equals(stored)).toBe(true);
  });

  test('invoke service', async () => {
    expect(await call('op=invoke&id=app1&method=neworder&value=book1')).toBe('200 app1/neworder:book1');
    expect(await call('op=invoke&id=missing&method=m')).toBe('500 status=10');
  });

  test('publish', async () => {
    expect(await call('op=publish&pubsub=ps&topic=orders&value={"a":1}')).toBe('200 published');
    expect(services.published).toEqual([{ pubsub: 'ps', topic: 'orders', data: '{"a":1}', contentType: 'application/json' }]);
    expect(await call('op=publish&pubsub=broken&topic=t')).toBe('500 status=10');
  });

  test('locks', async () => {
    expect(await call('op=lock&store=l&resource=r&owner=a')).toBe('200 acquired');
    expect(await call('op=lock&store=l&resource=r&owner=b')).toBe('200 held');
    expect(await call('op=unlock&store=l&resource=r&owner=b')).toBe('200 not-owner');
    expect(await call('op=unlock&store=l&resource=r&owner=a')).toBe('200 released');
    expect(await call('op=lock&store=broken&resource=r&owner=a')).toBe('500 status=10');
  });

  test('next id', async () => {
    expect(await call('op=next&store=seq&key=orders')).toBe('200 1');
    expect(await call('op=next&store=seq&key=orders')).toBe('200 2');
    expect(await call('op=next&store=broken&key=orders')).toBe('500 status=10');
  });

  test('the call timeout covers a host call that never answers; the function then works again', async () => {
    await host.update({ id: 'hostcalls', limits: { timeoutMs: 800 } });
    services.getState = () => new Promise(() => undefined);
    const e = await failure(host.call('hostcalls', get('/?op=get&store=s&key=k')));
    expect(e.kind).toBe('timeout');
    expect(await call('op=next&store=seq&key=k')).toBe('200 1');
  });

  test('the spec config reaches the guest as its plugin configuration', async () => {
    await host.update({ id: 'hostcalls', config: { greeting: 'hi', lang: 'en' } });
    expect(JSON.parse((await host.call('hostcalls', get('/?op=config'))).body.toString())).toEqual({ greeting: 'hi', lang: 'en' });
  });

  test('an invalid status becomes 500 and invalid response headers are dropped, with a log line', async () => {
    const res = await host.call('hostcalls', get('/?op=badresp'));
    expect([res.status, res.headers, res.body.toString()]).toEqual([500, [['x-good', '1']], 'odd']);
    expect(services.logs.map((l) => l.message)).toEqual(
      expect.arrayContaining([expect.stringContaining('invalid HTTP status 42'), 'dropped invalid response header "bad name"', 'dropped invalid response header "x-split"']),
    );
  });

  test('the guest log reaches HostServices.log at its level', async () => {
    expect(await call('op=log&who=wasm')).toBe('200 logged');
    expect(services.logs).toContainEqual({ fn: 'hostcalls', level: 3, message: 'hello from wasm' });
  });
});

describe('faults', () => {
  test('a trap fails that call with the wasm message; a fresh instance serves the next', async () => {
    await host.install({ id: 'faults', path: wasm('faults'), instances: 1 });
    expect((await host.call('faults', get('/?op=count'))).body.toString()).toBe('calls=1');
    const e = await failure(host.call('faults', get('/?op=trap')));
    expect(e.kind).toBe('trap');
    expect(e.message).toMatch(/unreachable/);
    expect((await host.call('faults', get('/?op=count'))).body.toString()).toBe('calls=1');
  });

  test('an abort carries the guest message', async () => {
    await host.install({ id: 'faults', path: wasm('faults'), instances: 1 });
    const e = await failure(host.call('faults', get('/?op=abort')));
    expect(e.kind).toBe('trap');
    expect(e.message).toMatch(/guest gave up/);
  });

  test('an endless loop times out, other functions keep answering, then the function works again', async () => {
    await host.install({ id: 'faults', path: wasm('faults'), instances: 1, limits: { timeoutMs: 1500 } });
    await host.install({ id: 'echo', path: wasm('echo'), instances: 1 });
    const looping = failure(host.call('faults', get('/?op=loop')));
    expect((await host.call('echo', get('/', [], 'meanwhile'))).body.toString()).toBe('POST / - meanwhile');
    const e = await looping;
    expect(e.kind).toBe('timeout');
    expect((await host.call('faults', get('/?op=count'))).body.toString()).toBe('calls=1');
  });

  // Gradual growth stops with the memory at its cap; one oversized request traps at the allocator's
  // check right after memory.grow, far below the cap.
  test.each([
    ['grow', 'faults'],
    ['huge', 'faults'],
    ['huge', 'faults-optimized'],
  ])('memory past the cap (%s, %s build) fails with "memory", then the function works again', async (op, file) => {
    await host.install({ id: 'faults', path: wasm(file), instances: 1, limits: { memoryMiB: 16 } });
    const e = await failure(host.call('faults', get(`/?op=${op}`)));
    expect(e.kind).toBe('memory');
    expect(e.message).toMatch(/16 MiB/);
    expect((await host.call('faults', get('/?op=count'))).body.toString()).toBe('calls=1');
  });
});

describe('loading', () => {
  test.each([
    ['notwasm', /not a WebAssembly module/],
    ['truncated', /not a valid WebAssembly module/],
    ['noid', /no proxy_get_id export/],
    ['nomarker', /no proxy-wasm ABI marker export/],
    ['does-not-exist', /cannot read .*ENOENT/],
  ])('%s is refused at install with "load"', async (name, message) => {
    const e = await failure(host.install({ id: 'x', path: wasm(name), instances: 1 }));
    expect(e.kind).toBe('load');
    expect(e.message).toMatch(message);
    expect(host.has('x')).toBe(false);
  });

  test('a module that traps while starting is refused with the wasm message', async () => {
    const e = await failure(host.install({ id: 'starttrap', path: wasm('starttrap'), instances: 2 }));
    expect(e).toMatchObject({ kind: 'load', message: expect.stringContaining('unreachable') });
    expect(host.has('starttrap')).toBe(false);
  });

  test('a module naming another id is refused', async () => {
    const e = await failure(host.install({ id: 'other', path: wasm('echo'), instances: 1 }));
    expect(e).toMatchObject({ kind: 'load', message: expect.stringContaining('declares function id "echo"') });
  });

  test('a second install of an id is refused; unknown ids are not_found', async () => {
    await host.install({ id: 'echo', path: wasm('echo'), instances: 1 });
    expect((await failure(host.install({ id: 'echo', path: wasm('echo'), instances: 1 }))).kind).toBe('load');
    expect((await failure(host.call('nope', get('/')))).kind).toBe('not_found');
    expect((await failure(host.update({ id: 'nope', instances: 2 }))).kind).toBe('not_found');
    expect((await failure(host.uninstall('nope'))).kind).toBe('not_found');
  });
});

describe('update and uninstall', () => {
  test('update under load: no call fails, answers switch to the new module', async () => {
    await host.install({ id: 'versioned', path: wasm('version1'), instances: 2 });
    let stop = false;
    const seen: string[] = [];
    const load = Array.from({ length: 4 }, async () => {
      while (!stop) seen.push((await host.call('versioned', get('/'))).body.toString());
    });
    await until(() => seen.length >= 20, () => `calls answered before the update: ${seen.length}`);
    await host.update({ id: 'versioned', path: wasm('version2'), instances: 3 });
    const after = seen.length;
    await until(() => seen.length >= after + 20, () => `calls answered after the update: ${seen.length - after}`);
    stop = true;
    await Promise.all(load);
    expect(seen.slice(0, 1)).toEqual(['v1']);
    expect(seen.slice(after + 4)).not.toContain('v1');
    expect(seen.at(-1)).toBe('v2');
    expect(host.list()).toEqual([{ id: 'versioned', path: wasm('version2'), instances: 3 }]);
  });

  test('a failed update leaves the old module serving', async () => {
    await host.install({ id: 'versioned', path: wasm('version1'), instances: 1 });
    expect((await failure(host.update({ id: 'versioned', path: wasm('notwasm') }))).kind).toBe('load');
    expect((await host.call('versioned', get('/'))).body.toString()).toBe('v1');
  });

  test('uninstall lets the call in flight finish, then the id is gone', async () => {
    await host.install({ id: 'echo', path: wasm('echo'), instances: 1 });
    const inFlight = host.call('echo', get('/', [], 'last'));
    await host.uninstall('echo');
    expect((await inFlight).body.toString()).toBe('POST / - last');
    expect(host.has('echo')).toBe(false);
    expect(host.list()).toEqual([]);
    expect((await failure(host.call('echo', get('/')))).kind).toBe('not_found');
  });
});
