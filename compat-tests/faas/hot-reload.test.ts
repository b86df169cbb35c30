// Hot reload of WebAssembly functions, against the built binary: a WasmFunction resource edited,
// deleted and added in --resources-path, and the .wasm file of a running function overwritten, each
// take effect on the functions port without a restart; a bad edit (a module that is missing or does
// not compile) is logged and the running function keeps answering. With --hot-reload=false nothing
// is watched. The guests are the SDK's test guests (version1/version2 share the id `versioned`).
import { copyFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, ROOT, type Sidecar, startSidecar } from '../helpers/sidecar';
import { sleep, until } from '../../test/wait';
import { compileAssemblyScripts, wasmTmpDir } from '../../test/wasm';

jest.setTimeout(120_000);

const GUESTS = join(ROOT, 'sdk', 'assemblyscript', 'guests');
let dir: string;
let sc: Sidecar;
let faasPort: number;

const wasm = (name: string) => join(dir, `${name}.wasm`);
const fnYaml = (id: string, path: string) => `apiVersion: layotto.io/v1\nkind: WasmFunction\nmetadata:\n  name: ${id}\nspec:\n  path: ${path}\n  instances: 1\n`;
const resource = (file: string) => join(sc.resourcesDir!, file);

async function call(id: string, port = faasPort): Promise<{ status: number; text: string }> {
  const r = await fetch(`http://127.0.0.1:${port}/`, { headers: { id } });
  return { status: r.status, text: await r.text() };
}

/** Waits until the function answers `text` (hot reload applies within a fraction of a second). */
async function answers(id: string, text: string): Promise<void> {
  let last = { status: 0, text: '' };
  await until(async () => (last = await call(id)).text === text, () => `${id} to answer ${text}; last answer ${last.status} ${last.text}`);
}

const logged = (re: RegExp) => until(() => re.test(sc.output()), () => `a log line matching ${re}`);

beforeAll(async () => {
  dir = wasmTmpDir();
  await compileAssemblyScripts([
    [join(GUESTS, 'version1.ts'), wasm('v1'), []],
    [join(GUESTS, 'version2.ts'), wasm('v2'), []],
    // A good v2 kept aside: the tests above overwrite v2.wasm.
    [join(GUESTS, 'version2.ts'), wasm('v2-spare'), []],
    [join(GUESTS, 'echo.ts'), wasm('echo'), []],
  ]);
  faasPort = await freePort();
  sc = await startSidecar({ appId: 'faas-reload', resources: { 'versioned.yaml': fnYaml('versioned', wasm('v1')) }, args: ['--faas-port', String(faasPort)] });
  expect(await call('versioned')).toEqual({ status: 200, text: 'v1' });
});

afterAll(async () => {
  await sc?.stop();
});

it('(a) a WasmFunction pointed at another module: the new module answers, no restart', async () => {
  writeFileSync(resource('versioned.yaml'), fnYaml('versioned', wasm('v2')));
  await answers('versioned', 'v2');
  expect(sc.output()).not.toMatch(/resources of the functions list changed/);
});

it('a WasmFunction pointed at a missing module is logged with its file; the running one keeps answering', async () => {
  writeFileSync(resource('versioned.yaml'), fnYaml('versioned', join(dir, 'missing.wasm')));
  await logged(/function versioned in \S*versioned\.yaml:1 not updated, the running one keeps serving: cannot read \S*missing\.wasm/);
  expect(await call('versioned')).toEqual({ status: 200, text: 'v2' });
  // Pointed back: applied again.
  writeFileSync(resource('versioned.yaml'), fnYaml('versioned', wasm('v2')));
  await until(() => (sc.output().match(/function versioned updated \(WasmFunction in/g) ?? []).length >= 2, () => 'the second update');
  expect(await call('versioned')).toEqual({ status: 200, text: 'v2' });
});

it('(b) the running module\'s .wasm overwritten: the new bytes answer', async () => {
  copyFileSync(wasm('v1'), wasm('v2'));
  await answers('versioned', 'v1');
  // Logged once the old instances drained, a moment after the new ones answer.
  await logged(/function versioned: module \S*v2\.wasm changed; the new module is serving/);
});

it('(c) a broken .wasm written over it: the old instance keeps answering, the sidecar stays healthy', async () => {
  writeFileSync(wasm('v2'), Buffer.from('\0asm\x01\0\0\0this is no module'));
  await logged(/function versioned: module \S*v2\.wasm changed but did not load, the running one keeps serving: \S*v2\.wasm is not a valid WebAssembly module/);
  expect(await call('versioned')).toEqual({ status: 200, text: 'v1' });
  expect((await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/healthz`)).status).toBe(204);
  expect(sc.proc.exitCode).toBeNull();
});

it('(d) the WasmFunction file deleted: the id is gone', async () => {
  unlinkSync(resource('versioned.yaml'));
  let last = { status: 0, text: '' };
  await until(async () => (last = await call('versioned')).status === 404, () => `versioned to be gone; last answer ${last.status} ${last.text}`);
  expect(JSON.parse(last.text)).toMatchObject({ kind: 'not_found' });
});

it('(e) a second WasmFunction file added: it answers, and the metadata lists it', async () => {
  writeFileSync(resource('echo.yaml'), fnYaml('echo', wasm('echo')));
  let last = { status: 0, text: '' };
  await until(async () => (last = await call('echo')).status === 201, () => `echo to answer; last answer ${last.status} ${last.text}`);
  expect(last.text).toBe('GET / - ');
  const meta = (await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/metadata`).then((r) => r.json())) as { extended: Record<string, string> };
  expect(meta.extended['faas.functions']).toBe('echo');
  // Its module is watched from now on.
  copyFileSync(wasm('v1'), wasm('echo'));
  await logged(/function echo: module \S*echo\.wasm changed but did not load, the running one keeps serving: /);
  expect((await call('echo')).status).toBe(201);
});

it('with --hot-reload=false nothing is watched: the overwritten module is not loaded', async () => {
  const own = wasmTmpDir();
  copyFileSync(wasm('v1'), join(own, 'fn.wasm'));
  const port = await freePort();
  const off = await startSidecar({ appId: 'faas-reload-off', resources: { 'versioned.yaml': fnYaml('versioned', join(own, 'fn.wasm')) }, args: ['--faas-port', String(port), '--hot-reload=false'] });
  try {
    expect(await call('versioned', port)).toEqual({ status: 200, text: 'v1' });
    copyFileSync(wasm('v2-spare'), join(own, 'fn.wasm'));
    writeFileSync(join(off.resourcesDir!, 'echo.yaml'), fnYaml('echo', wasm('echo')));
    await sleep(1000);
    expect(await call('versioned', port)).toEqual({ status: 200, text: 'v1' });
    expect((await call('echo', port)).status).toBe(404);
    expect(off.output()).toMatch(/hot reload is off \(--hot-reload=false\)/);
    expect(off.output()).not.toMatch(/module \S*fn\.wasm changed/);
  } finally {
    await off.stop();
  }
});
