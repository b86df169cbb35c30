// file.local against a temp directory: names confined to the root (.., absolute, symlinks out),
// uploads committed only when complete, Layotto's list paging, stat in Go's shapes, delete.
import { constants } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { FileError } from '../types';
import { LocalFileStore } from '.';

const md = (properties: Record<string, string>) => ({ name: 'files', type: 'file.local', version: 'v1', properties, appId: 'a', namespace: 'default' });

describe('file.local', () => {
  let base: string;
  let root: string;
  let outside: string;
  let store: LocalFileStore;

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'file-local-'));
    root = join(base, 'root');
    outside = join(base, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'secret.txt'), 'secret');
    store = new LocalFileStore();
    await store.init(md({ rootPath: root }));
  });
  afterEach(() => rm(base, { recursive: true, force: true }));

  const reason = async (p: Promise<unknown>) => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(FileError);
    return [(e as FileError).reason, (e as FileError).message] as const;
  };

  it('needs rootPath and creates it when missing', async () => {
    await expect(new LocalFileStore().init(md({}))).rejects.toThrow(/rootPath is required/);
    expect(await readdir(root)).toEqual([]);
  });

  it('puts into nested directories, gets back, stats in Go shapes and deletes', async () => {
    await store.put('a/b/c.txt', Readable.from([Buffer.from('hello '), Buffer.from('world')]), { FileMode: '384' });
    expect(await text(await store.get('a/b/c.txt', {}))).toBe('hello world');
    const st = await store.stat('a/b/c.txt', {});
    expect(st.size).toBe(11);
    expect(st.lastModified).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,9})? \+0000 UTC$/);
    expect(st.metadata).toEqual({ FileMode: ['384'], IsDir: ['false'] });
    expect((await store.stat('a', {})).metadata).toEqual({ FileMode: [String(2 ** 31 + 0o755)], IsDir: ['true'] });
    await store.del('a/b/c.txt', {});
    expect(await reason(store.stat('a/b/c.txt', {}))).toEqual(['not-found', 'file does not exist']);
    expect(await reason(store.del('a/b/c.txt', {}))).toEqual(['not-found', 'file does not exist']);
    expect(await reason(store.get('missing', {}))).toEqual(['not-found', 'file does not exist']);
  });

  it('refuses names that leave the root', async () => {
    for (const name of ['../outside/secret.txt', 'a/../../outside/secret.txt', join(outside, 'secret.txt'), '', '.', 'a\0b']) {
      for (const op of [store.get(name, {}), store.stat(name, {}), store.del(name, {}), store.put(name, Readable.from([Buffer.from('x')]), {})]) {
        const [r, msg] = await reason(op);
        expect(r).toBe('invalid');
        expect(msg).toMatch(/^invalid file name/);
      }
    }
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('secret');
  });

  it('refuses symlinks that lead outside the root, for reads and writes', async () => {
    await symlink(join(outside, 'secret.txt'), join(root, 'link.txt'));
    await symlink(outside, join(root, 'linkdir'));
    const escapes = [
      store.get('link.txt', {}),
      store.stat('link.txt', {}),
      store.get('linkdir/secret.txt', {}),
      store.put('linkdir/new.txt', Readable.from([Buffer.from('x')]), {}),
      store.put('linkdir/sub/new.txt', Readable.from([Buffer.from('x')]), {}),
      store.del('linkdir/secret.txt', {}),
      store.list({ directory: 'linkdir', marker: '', pageSize: 0, metadata: {} }),
    ];
    for (const op of escapes) expect((await reason(op))[1]).toMatch(/symbolic link leads outside the store's root/);
    expect(await readdir(outside)).toEqual(['secret.txt']);
    // Deleting the link itself removes the link, never its target.
    await store.del('link.txt', {});
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('secret');
    // A link that stays inside the root is followed.
    await writeFile(join(root, 'real.txt'), 'inside');
    await symlink(join(root, 'real.txt'), join(root, 'ok.txt'));
    expect(await text(await store.get('ok.txt', {}))).toBe('inside');
  });

  it('a broken upload leaves neither a half file nor a temp file, and keeps the old content', async () => {
    await store.put('f.bin', Readable.from([Buffer.from('old')]), {});
    async function* broken() {
      yield Buffer.alloc(100_000, 1);
      throw new Error('client went away');
    }
    await expect(store.put('f.bin', Readable.from(broken()), {})).rejects.toThrow('client went away');
    await expect(store.put('g.bin', Readable.from(broken()), {})).rejects.toThrow('client went away');
    expect(await readdir(root)).toEqual(['f.bin']);
    expect(await text(await store.get('f.bin', {}))).toBe('old');
  });

  it('FileFlag with O_EXCL refuses an existing file; bad FileMode values are refused', async () => {
    const excl = { FileFlag: String(constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY) };
    await store.put('x', Readable.from([Buffer.from('1')]), excl);
    expect(await reason(store.put('x', Readable.from([Buffer.from('2')]), excl))).toEqual(['exists', 'file already exists']);
    expect(await text(await store.get('x', {}))).toBe('1');
    expect((await reason(store.put('y', Readable.from([Buffer.from('2')]), { FileMode: 'rw' })))[0]).toBe('invalid');
    expect(await readdir(root)).toEqual(['x']);
  });

  it('lists in name order, pages with marker/pageSize (0 = all), hides uploads in progress', async () => {
    for (const n of ['c', 'a', 'e', 'b', 'd']) await store.put(`dir/${n}`, Readable.from([Buffer.from(n.repeat(3))]), {});
    await writeFile(join(root, 'dir', '.layotto-upload-123'), 'partial');
    const page = (marker: string, pageSize: number) => store.list({ directory: 'dir', marker, pageSize, metadata: {} });
    const p1 = await page('', 2);
    expect([p1.files.map((f) => f.name), p1.marker, p1.isTruncated]).toEqual([['a', 'b'], 'b', true]);
    expect(p1.files[0]!.size).toBe(3);
    const p2 = await page(p1.marker, 2);
    expect([p2.files.map((f) => f.name), p2.marker, p2.isTruncated]).toEqual([['c', 'd'], 'd', true]);
    const p3 = await page(p2.marker, 2);
    expect([p3.files.map((f) => f.name), p3.marker, p3.isTruncated]).toEqual([['e'], 'e', false]);
    const all = await page('', 0);
    expect([all.files.map((f) => f.name), all.isTruncated]).toEqual([['a', 'b', 'c', 'd', 'e'], false]);
    expect((await store.list({ directory: '', marker: '', pageSize: 0, metadata: {} })).files.map((f) => f.name)).toEqual(['dir']);
    expect(await reason(page('zzz', 0).then(() => store.list({ directory: 'nope', marker: '', pageSize: 0, metadata: {} })))).toEqual(['not-found', 'file does not exist']);
    expect((await reason(store.list({ directory: 'dir/a', marker: '', pageSize: 0, metadata: {} })))[0]).toBe('invalid');
  });

  it('get and put refuse directories; del removes empty directories only', async () => {
    await store.put('d/f', Readable.from([Buffer.from('x')]), {});
    expect(await reason(store.get('d', {}))).toEqual(['invalid', 'file name "d" is a directory']);
    expect(await reason(store.put('d', Readable.from([Buffer.from('x')]), {}))).toEqual(['invalid', 'file name "d" is a directory']);
    expect(await reason(store.del('d', {}))).toEqual(['invalid', 'directory "d" is not empty']);
    await store.del('d/f', {});
    await store.del('d', {});
    expect(await readdir(root)).toEqual([]);
  });
});
