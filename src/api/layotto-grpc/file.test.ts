// The Layotto File rpcs on a real grpc-js server over a Core with a file.local store in a temp
// dir, driven by a grpc-js client built from our protos: chunked streaming both ways, a cut upload
// committing nothing, GetFile pausing with a slow reader and closing the source on cancel, and
// Layotto's statuses and texts for bad requests.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { createCore } from '../../core';
import { ComponentStore } from '../../components/store';
import { LocalFileStore } from '../../components/file/local';
import type { FileStore } from '../../components/file/types';
import { eventually, sleep } from '../../../test/wait';
import { addLayottoServices } from './service';
import { loadLayottoDefinition, PACKAGE } from './protos';

type Cb = (err: grpc.ServiceError | null, res: unknown) => void;
type Rpc = (...args: unknown[]) => unknown;

/** A local store whose "endless" file counts the bytes GetFile has pulled from it. */
class EndlessStore extends LocalFileStore {
  pulled = 0;
  source?: Readable;
  override async get(name: string, md: Record<string, string>): Promise<Readable> {
    if (name !== 'endless') return super.get(name, md);
    const chunk = Buffer.alloc(64 * 1024, 7);
    this.source = new Readable({
      read: () => {
        this.pulled += chunk.length;
        this.source!.push(chunk);
      },
    });
    return this.source;
  }
}

let dir: string;
let server: grpc.Server;
let client: grpc.Client;
let store: EndlessStore;

const rpc = (name: string): Rpc => (client as unknown as Record<string, Rpc>)[name]!.bind(client);
const unary = <T>(name: string, req: unknown) =>
  new Promise<T>((resolve, reject) => rpc(name)(req, ((e, r) => (e ? reject(e) : resolve(r as T))) as Cb));
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('call succeeded, expected an error');
    },
    (e: grpc.ServiceError) => [e.code, e.details] as const,
  );

/** PutFile with the given messages, then half-close. */
function put(messages: object[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const w = rpc('PutFile')(((e, r) => (e ? reject(e) : resolve(r))) as Cb) as grpc.ClientWritableStream<object>;
    for (const m of messages) w.write(m);
    w.end();
  });
}

/** GetFile's chunks. */
async function get(req: object): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const m of rpc('GetFile')(req) as AsyncIterable<{ data: Buffer }>) chunks.push(m.data);
  return chunks;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'layotto-file-api-'));
  store = new EndlessStore();
  const md = { name: 'files', type: 'file.local', version: 'v1', properties: { rootPath: dir }, appId: 'a', namespace: '' };
  await store.init(md);
  const components = new ComponentStore();
  components.add({ kind: 'file', name: 'files', meta: md, instance: store as FileStore, capabilities: [] });
  server = new grpc.Server();
  addLayottoServices(server, createCore({ components, appId: 'a', namespace: '', runtimeVersion: 'test' }, { protocol: 'http', channelAddress: '127.0.0.1' }));
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  const pkg = grpc.loadPackageDefinition(loadLayottoDefinition());
  const Runtime = `${PACKAGE}.Runtime`.split('.').reduce<unknown>((o, p) => (o as Record<string, unknown>)[p], pkg) as grpc.ServiceClientConstructor;
  client = new Runtime(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  server.forceShutdown();
  await rm(dir, { recursive: true, force: true });
});

describe('Layotto File rpcs', () => {
  it('PutFile takes names from the first chunk; GetFile sends the file back in chunks', async () => {
    const body = Buffer.alloc(300 * 1024, 'ab');
    const parts = [body.subarray(0, 100), body.subarray(100, 200 * 1024), body.subarray(200 * 1024)];
    await put([{ store_name: 'files', name: 'dir/one.bin', data: parts[0] }, { data: parts[1] }, { data: parts[2], name: 'ignored' }]);
    const chunks = await get({ store_name: 'files', name: 'dir/one.bin' });
    expect(chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(chunks).equals(body)).toBe(true);
  });

  it('ListFile pages with marker; GetFileMeta; DelFile', async () => {
    for (const n of ['a', 'b', 'c']) await put([{ store_name: 'files', name: `list/${n}`, data: Buffer.from(n) }]);
    type Page = { files: { file_name: string; size: string }[]; marker: string; is_truncated: boolean };
    const p1 = await unary<Page>('ListFile', { request: { store_name: 'files', name: 'list' }, page_size: 2 });
    expect([p1.files.map((f) => [f.file_name, f.size]), p1.marker, p1.is_truncated]).toEqual([[['a', '1'], ['b', '1']], 'b', true]);
    const p2 = await unary<Page>('ListFile', { request: { store_name: 'files', name: 'list' }, page_size: 2, marker: p1.marker });
    expect([p2.files.map((f) => f.file_name), p2.marker, p2.is_truncated]).toEqual([['c'], 'c', false]);
    const meta = await unary<{ size: string; last_modified: string; response: { metadata: Record<string, { value: string[] }> } }>('GetFileMeta', {
      request: { store_name: 'files', name: 'list/a' },
    });
    expect(meta.size).toBe('1');
    expect(meta.last_modified).toMatch(/ \+0000 UTC$/);
    expect(meta.response.metadata.IsDir).toEqual({ value: ['false'] });
    await unary('DelFile', { request: { store_name: 'files', name: 'list/a' } });
    expect(await failure(unary('GetFileMeta', { request: { store_name: 'files', name: 'list/a' } }))).toEqual([grpc.status.NOT_FOUND, 'file does not exist']);
  });

  it('a PutFile the client cancels midway commits nothing', async () => {
    const w = rpc('PutFile')((() => undefined) as Cb) as grpc.ClientWritableStream<object> & grpc.Call;
    w.on('error', () => undefined);
    w.write({ store_name: 'files', name: 'cut.bin', data: Buffer.alloc(64 * 1024) });
    w.write({ data: Buffer.alloc(64 * 1024) });
    await eventually(async () => (await readdir(dir)).some((n) => n.startsWith('.layotto-upload-')));
    w.cancel();
    await eventually(async () => !(await readdir(dir)).some((n) => n.startsWith('.layotto-upload-')));
    expect(await readdir(dir)).not.toContain('cut.bin');
  });

  it('a PutFile with no message at all is OK and stores nothing', async () => {
    const before = await readdir(dir);
    expect(await put([])).toEqual({});
    expect(await readdir(dir)).toEqual(before);
  });

  it('GetFile stops reading the source while the client does not read, and closes it on cancel', async () => {
    const stream = rpc('GetFile')({ store_name: 'files', name: 'endless' }) as grpc.ClientReadableStream<{ data: Buffer }>;
    stream.on('error', () => undefined);
    await new Promise((r) => stream.once('data', r));
    stream.pause();
    // Flow control stops the server once the windows and buffers are full: what it pulled stays put.
    let last = -1;
    while (store.pulled !== last) {
      last = store.pulled;
      await sleep(300);
    }
    expect(store.pulled).toBeLessThan(16 * 1024 * 1024);
    stream.cancel();
    await eventually(() => store.source!.destroyed);
  });

  it.each([
    ['GetFile, unknown store', () => get({ store_name: 'nope', name: 'x' }), grpc.status.INVALID_ARGUMENT, 'not supported store type: nope'],
    ['PutFile, unknown store', () => put([{ store_name: 'nope', name: 'x', data: Buffer.from('x') }]), grpc.status.INVALID_ARGUMENT, 'not support store type: nope'],
    ['ListFile, unknown store', () => unary('ListFile', { request: { store_name: 'nope' } }), grpc.status.INVALID_ARGUMENT, 'not support store type: nope'],
    ['DelFile, unknown store', () => unary('DelFile', { request: { store_name: 'nope', name: 'x' } }), grpc.status.INVALID_ARGUMENT, 'not support store type: nope'],
    ['GetFileMeta, unknown store', () => unary('GetFileMeta', { request: { store_name: 'nope', name: 'x' } }), grpc.status.INVALID_ARGUMENT, 'not support store type: nope'],
    ['ListFile, no request', () => unary('ListFile', {}), grpc.status.INVALID_ARGUMENT, "request can't be nil"],
    ['DelFile, no request', () => unary('DelFile', {}), grpc.status.INVALID_ARGUMENT, "request can't be nil"],
    ['GetFileMeta, no request', () => unary('GetFileMeta', {}), grpc.status.INVALID_ARGUMENT, "request can't be nil"],
    ['GetFile, empty name', () => get({ store_name: 'files', name: '' }), grpc.status.INVALID_ARGUMENT, 'file name is empty in file store files'],
    ['PutFile, empty name', () => put([{ store_name: 'files', data: Buffer.from('x') }]), grpc.status.INVALID_ARGUMENT, 'file name is empty in file store files'],
    ['GetFile, missing file', () => get({ store_name: 'files', name: 'missing' }), grpc.status.NOT_FOUND, 'file does not exist'],
    ['DelFile, missing file', () => unary('DelFile', { request: { store_name: 'files', name: 'missing' } }), grpc.status.NOT_FOUND, 'file does not exist'],
    ['ListFile, missing directory', () => unary('ListFile', { request: { store_name: 'files', name: 'missing' } }), grpc.status.NOT_FOUND, 'file does not exist'],
    ['GetFile, ..', () => get({ store_name: 'files', name: '../x' }), grpc.status.INVALID_ARGUMENT, `invalid file name "../x": '..' segments are refused`],
    ['PutFile, absolute', () => put([{ store_name: 'files', name: '/etc/x', data: Buffer.from('x') }]), grpc.status.INVALID_ARGUMENT, `invalid file name "/etc/x": absolute paths are refused; names are relative to the store's root`],
  ])('%s', async (_n, op, code, details) => {
    expect(await failure(op())).toEqual([code, details]);
  });
});
