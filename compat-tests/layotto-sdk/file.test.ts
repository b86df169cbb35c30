// The built sidecar's File API (file.local) through the real `layotto` Node SDK: client.file
// get/put/list/delete, and the SDK's own generated Runtime stub for what its File class does not
// wrap (GetFileMeta, ListFile paging, exact PutFile statuses, a cancelled upload). A 128 MiB file is
// streamed both ways and compared by sha256 while the sidecar's peak RSS (VmHWM) stays flat.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type * as grpc from '@grpc/grpc-js';
import { until } from '../../test/wait';
import { rejection } from '../helpers/lock-backends';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Client } = require('layotto') as typeof import('layotto');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pb = require('layotto/proto/runtime/v1/runtime_pb') as typeof import('layotto/proto/runtime/v1/runtime_pb');
type SdkClient = InstanceType<typeof Client>;
type RuntimeStub = import('layotto/proto/runtime/v1/runtime_grpc_pb').RuntimeClient;

const STORE = 'files';
const BIG = 128 * 1024 * 1024;
const WARM = 16 * 1024 * 1024;
const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;

let base: string;
let root: string;
let sc: Sidecar;
let client: SdkClient;
let stub: RuntimeStub;

/** Peak resident set size of a process, in bytes (VmHWM). */
async function peakRss(pid: number): Promise<number> {
  const kb = /VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]!;
  return Number(kb) * 1024;
}

/** sha256 and length of a stream, read chunk by chunk. */
async function digest(stream: Readable): Promise<{ sha: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Uint8Array>) {
    h.update(chunk);
    size += chunk.length;
  }
  return { sha: h.digest('hex'), size };
}

function fileRequest(name: string, storeName = STORE) {
  const r = new pb.FileRequest();
  r.setStoreName(storeName);
  r.setName(name);
  return r;
}

function getMeta(name: string, storeName = STORE): Promise<import('layotto/proto/runtime/v1/runtime_pb').GetFileMetaResponse> {
  const req = new pb.GetFileMetaRequest();
  req.setRequest(fileRequest(name, storeName));
  return new Promise((resolve, reject) => stub.getFileMeta(req, (e, res) => (e ? reject(e) : resolve(res))));
}

function listPage(dir: string, pageSize: number, marker: string): Promise<{ names: string[]; marker: string; truncated: boolean }> {
  const req = new pb.ListFileRequest();
  req.setRequest(fileRequest(dir));
  req.setPageSize(pageSize);
  req.setMarker(marker);
  return new Promise((resolve, reject) =>
    stub.listFile(req, (e, res) =>
      e ? reject(e) : resolve({ names: res.getFilesList().map((f) => f.getFileName()), marker: res.getMarker(), truncated: res.getIsTruncated() }),
    ),
  );
}

/** PutFile through the stub: its chunks, then half-close; resolves or rejects with the call's status. */
function rawPut(storeName: string, name: string, chunks: Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const w = stub.putFile((e) => (e ? reject(e) : resolve()));
    chunks.forEach((data, i) => {
      const m = new pb.PutFileRequest();
      if (i === 0) {
        m.setStoreName(storeName);
        m.setName(name);
      }
      m.setData(data);
      w.write(m);
    });
    w.end();
  });
}

/** The SDK's put resolves once its chunks are written, before the sidecar answers: wait for the file. */
async function putAndWait(name: string, stream: Readable, size: number): Promise<void> {
  await client.file.put({ storeName: STORE, name, stream });
  await until(
    async () => (await getMeta(name).catch(() => undefined))?.getSize() === size,
    () => `${name} stored with ${size} bytes`,
    60_000,
  );
}

const status = (e: grpc.ServiceError) => [e.code, e.details];

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'layotto-file-compat-'));
  root = join(base, 'root');
  await mkdir(join(base, 'outside'));
  await writeFile(join(base, 'outside', 'secret.txt'), 'secret');
  sc = await startSidecar({ resources: { 'files.yaml': componentYaml(STORE, 'file.local', { rootPath: root }) } });
  client = new Client(String(sc.layottoPort), '127.0.0.1');
  stub = (client as unknown as { _runtime: RuntimeStub })._runtime;
});

afterAll(async () => {
  client?.close();
  await sc?.stop();
  await rm(base, { recursive: true, force: true });
});

describe('Layotto File API on file.local', () => {
  it(`streams a ${BIG / 1024 / 1024} MiB file up and back with the same sha256; the sidecar's peak RSS grows far less than the file size`, async () => {
    const src = join(base, 'big.src');
    const h = createHash('sha256');
    const out = createWriteStream(src);
    for (let i = 0; i < BIG / (1024 * 1024); i++) {
      const chunk = randomBytes(1024 * 1024);
      h.update(chunk);
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    out.end();
    await finished(out);
    const sha = h.digest('hex');

    // Warm up with a 16 MiB file both ways, so the baseline is the sidecar at work (V8 lets garbage
    // and external buffers reach a steady size before collecting them), not at rest.
    const warm = join(base, 'warm.src');
    await writeFile(warm, randomBytes(WARM));
    await putAndWait('warm.bin', createReadStream(warm), WARM);
    await digest(await client.file.get({ storeName: STORE, name: 'warm.bin' }));
    const before = await peakRss(sc.proc.pid!);

    await putAndWait('big/blob.bin', createReadStream(src), BIG);
    expect((await digest(createReadStream(join(root, 'big', 'blob.bin')))).sha).toBe(sha);
    expect(await digest(await client.file.get({ storeName: STORE, name: 'big/blob.bin' }))).toEqual({ sha, size: BIG });

    const grown = (await peakRss(sc.proc.pid!)) - before;
    process.stdout.write(`file compat: sidecar peak RSS grew by ${(grown / 1024 / 1024).toFixed(1)} MiB for a ${BIG / 1024 / 1024} MiB file each way\n`);
    // Memory that followed the file would add 128 MiB or more here; steady streaming adds GC slack only
    // (0-20 MiB measured, whatever the file size).
    expect(grown).toBeLessThan(BIG / 4);
    await Promise.all([rm(src), rm(warm)]);
  }, 180_000);

  it('list, ListFile paging with marker, GetFileMeta and delete', async () => {
    for (const n of ['c', 'a', 'e', 'b', 'd']) await rawPut(STORE, `pages/${n}.txt`, [Buffer.from(n.repeat(4))]);
    expect((await client.file.list({ storeName: STORE, name: 'pages' })).names).toEqual(['a.txt', 'b.txt', 'c.txt', 'd.txt', 'e.txt']);
    const p1 = await listPage('pages', 2, '');
    expect(p1).toEqual({ names: ['a.txt', 'b.txt'], marker: 'b.txt', truncated: true });
    const p2 = await listPage('pages', 2, p1.marker);
    expect(p2).toEqual({ names: ['c.txt', 'd.txt'], marker: 'd.txt', truncated: true });
    expect(await listPage('pages', 2, p2.marker)).toEqual({ names: ['e.txt'], marker: 'e.txt', truncated: false });

    const meta = await getMeta('pages/a.txt');
    expect(meta.getSize()).toBe(4);
    expect(meta.getLastModified()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC$/);
    const md = meta.getResponse()!.getMetadataMap();
    expect(md.get('IsDir')!.getValueList()).toEqual(['false']);
    expect(md.get('FileMode')!.getValueList()).toHaveLength(1);
    expect((await getMeta('pages')).getResponse()!.getMetadataMap().get('IsDir')!.getValueList()).toEqual(['true']);

    await client.file.delete({ storeName: STORE, name: 'pages/a.txt' });
    expect(status(await rejection<grpc.ServiceError>(getMeta('pages/a.txt')))).toEqual([NOT_FOUND, 'file does not exist']);
    expect((await client.file.list({ storeName: STORE, name: 'pages' })).names).toEqual(['b.txt', 'c.txt', 'd.txt', 'e.txt']);
  });

  it('an upload cancelled midway leaves neither the file nor a temp file', async () => {
    const w = stub.putFile(() => undefined);
    w.on('error', () => undefined);
    const m = new pb.PutFileRequest();
    m.setStoreName(STORE);
    m.setName('cut/partial.bin');
    m.setData(randomBytes(256 * 1024));
    w.write(m);
    const dir = join(root, 'cut');
    await until(
      async () => (await readdir(dir).catch(() => [])).length > 0,
      () => 'the upload started',
    );
    w.cancel();
    let left: string[] = [];
    await until(
      async () => (left = await readdir(dir)).length === 0,
      () => `no file left in ${dir}, found: ${left.join(', ')}`,
    );
  });

  it.each([
    ['GetFile, unknown store', async () => digest(await client.file.get({ storeName: 'nope', name: 'x' })), INVALID_ARGUMENT, 'not supported store type: nope'],
    ['PutFile, unknown store', () => rawPut('nope', 'x', [Buffer.from('x')]), INVALID_ARGUMENT, 'not support store type: nope'],
    ['ListFile, unknown store', () => client.file.list({ storeName: 'nope', name: '' }), INVALID_ARGUMENT, 'not support store type: nope'],
    ['DelFile, unknown store', () => client.file.delete({ storeName: 'nope', name: 'x' }), INVALID_ARGUMENT, 'not support store type: nope'],
    ['GetFileMeta, unknown store', () => getMeta('x', 'nope'), INVALID_ARGUMENT, 'not support store type: nope'],
    ['GetFile, missing file', async () => digest(await client.file.get({ storeName: STORE, name: 'missing.txt' })), NOT_FOUND, 'file does not exist'],
    ['DelFile, missing file', () => client.file.delete({ storeName: STORE, name: 'missing.txt' }), NOT_FOUND, 'file does not exist'],
    ['GetFileMeta, missing file', () => getMeta('missing.txt'), NOT_FOUND, 'file does not exist'],
    ['GetFile, empty name', async () => digest(await client.file.get({ storeName: STORE, name: '' })), INVALID_ARGUMENT, 'file name is empty in file store files'],
    ['PutFile, empty name', () => rawPut(STORE, '', [Buffer.from('x')]), INVALID_ARGUMENT, 'file name is empty in file store files'],
    ['DelFile, empty name', () => client.file.delete({ storeName: STORE, name: '' }), INVALID_ARGUMENT, 'file name is empty in file store files'],
    ['GetFile, ..', async () => digest(await client.file.get({ storeName: STORE, name: '../outside/secret.txt' })), INVALID_ARGUMENT, `invalid file name "../outside/secret.txt": '..' segments are refused`],
    ['PutFile, ..', () => rawPut(STORE, 'a/../../x', [Buffer.from('x')]), INVALID_ARGUMENT, `invalid file name "a/../../x": '..' segments are refused`],
    ['GetFile, absolute', async () => digest(await client.file.get({ storeName: STORE, name: '/etc/passwd' })), INVALID_ARGUMENT, `invalid file name "/etc/passwd": absolute paths are refused; names are relative to the store's root`],
    ['ListFile, ..', () => client.file.list({ storeName: STORE, name: '..' }), INVALID_ARGUMENT, `invalid file name "..": '..' segments are refused`],
  ])('refuses %s', async (_n, op, code, details) => {
    expect(status(await rejection<grpc.ServiceError>(op()))).toEqual([code, details]);
  });

  it('refuses a symlink that leads outside the root, and still serves afterwards', async () => {
    await symlink(join(base, 'outside'), join(root, 'escape'));
    const refused = `invalid file name "escape/secret.txt": a symbolic link leads outside the store's root`;
    expect(status(await rejection<grpc.ServiceError>(digest(await client.file.get({ storeName: STORE, name: 'escape/secret.txt' }))))).toEqual([INVALID_ARGUMENT, refused]);
    expect(status(await rejection<grpc.ServiceError>(rawPut(STORE, 'escape/new.txt', [Buffer.from('x')])))).toEqual([INVALID_ARGUMENT, refused.replace('secret.txt', 'new.txt')]);
    expect(await readdir(join(base, 'outside'))).toEqual(['secret.txt']);

    await rawPut(STORE, 'after/ok.txt', [Buffer.from('still '), Buffer.from('serving')]);
    expect(Buffer.concat(await (await client.file.get({ storeName: STORE, name: 'after/ok.txt' })).toArray()).toString()).toBe('still serving');
    expect(sc.proc.exitCode).toBeNull();
  });
});

