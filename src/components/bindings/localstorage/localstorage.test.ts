import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileContent, LocalStorageBinding } from '.';

async function binding(root: string): Promise<LocalStorageBinding> {
  const b = new LocalStorageBinding();
  await b.init({ name: 'files', type: 'bindings.localstorage', version: 'v1', properties: { rootPath: root }, appId: 'a', namespace: '' });
  return b;
}

const call = (b: LocalStorageBinding, operation: string, metadata: Record<string, string> = {}, data = '') => b.invoke({ operation, metadata, data: Buffer.from(data) });
const failure = (p: Promise<unknown>) => p.then(() => Promise.reject(new Error('expected failure')), (e: Error) => e.message);

describe('bindings.localstorage', () => {
  let base: string;
  let root: string;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'ls-binding-'));
    root = join(base, 'root');
  });

  it('creates the root, then create/get/list/delete as contrib', async () => {
    const b = await binding(root);
    expect(existsSync(root)).toBe(true);
    expect((await call(b, 'list'))?.data.toString()).toBe('null');
    expect((await call(b, 'create', { fileName: 'dir/a.txt' }, '"hello"'))?.data.toString()).toBe('{"fileName":"dir/a.txt"}');
    expect(readFileSync(join(root, 'dir/a.txt'), 'utf8')).toBe('hello');
    expect((await call(b, 'get', { fileName: 'dir/a.txt' }))?.data.toString()).toBe('hello');
    await call(b, 'create', { fileName: 'b.txt' }, 'x');
    expect(JSON.parse((await call(b, 'list'))!.data.toString())).toEqual([join(root, 'b.txt'), join(root, 'dir/a.txt')]);
    expect(await call(b, 'delete', { fileName: 'b.txt' })).toBeUndefined();
    expect(await failure(call(b, 'get', { fileName: 'b.txt' }))).toBe(`file not found: ${join(root, 'b.txt')}`);
    expect(await failure(call(b, 'delete', { fileName: 'b.txt' }))).toBe(`error deleting file ${join(root, 'b.txt')}: remove ${join(root, 'b.txt')}: no such file or directory`);
  });

  it('names a created file with a UUID when no fileName is given', async () => {
    const b = await binding(root);
    const { fileName } = JSON.parse((await call(b, 'create', {}, 'x'))!.data.toString()) as { fileName: string };
    expect(fileName).toMatch(/^[0-9a-f-]{36}$/);
    expect(readFileSync(join(root, fileName), 'utf8')).toBe('x');
  });

  it('unquotes and base64-decodes the data as contrib does', () => {
    expect(fileContent(Buffer.from('"aGVsbG8="')).toString()).toBe('hello');
    expect(fileContent(Buffer.from('"plain text"')).toString()).toBe('plain text');
    expect(fileContent(Buffer.from('{"a":1}')).toString()).toBe('{"a":1}');
    expect(fileContent(Buffer.from('"a\\"b"')).toString()).toBe('a"b');
  });

  it('refuses names that leave the root: "..", absolute paths, symbolic links', async () => {
    const b = await binding(root);
    writeFileSync(join(base, 'secret'), 'top');
    mkdirSync(join(base, 'outside'));
    symlinkSync(join(base, 'secret'), join(root, 'link'));
    symlinkSync(join(base, 'outside'), join(root, 'dirlink'));
    symlinkSync(join(base, 'nowhere'), join(root, 'dangling'));
    expect(await failure(call(b, 'get', { fileName: '../secret' }))).toBe('error getting absolute path for file ../secret: path escapes rootPath');
    expect(await failure(call(b, 'create', { fileName: 'a/../../x' }, 'x'))).toMatch(/path escapes rootPath$/);
    expect(await failure(call(b, 'get', { fileName: join(base, 'secret') }))).toMatch(/absolute paths are not allowed/);
    expect(await failure(call(b, 'get', { fileName: 'link' }))).toMatch(/escapes rootPath through a symbolic link/);
    expect(await failure(call(b, 'create', { fileName: 'dirlink/new' }, 'x'))).toMatch(/through a symbolic link/);
    expect(await failure(call(b, 'create', { fileName: 'dangling' }, 'x'))).toMatch(/through a symbolic link/);
    expect(await failure(call(b, 'list', { fileName: '..' }))).toMatch(/path escapes rootPath/);
    expect(existsSync(join(base, 'x'))).toBe(false);
    expect(existsSync(join(base, 'outside', 'new'))).toBe(false);
    expect(existsSync(join(base, 'nowhere'))).toBe(false);
    // Inside the root, ".." that stays inside is fine.
    await call(b, 'create', { fileName: 'a/../inside.txt' }, 'x');
    expect(readFileSync(join(root, 'inside.txt'), 'utf8')).toBe('x');
  });

  it('refuses a root in the system trees or on a file', async () => {
    await expect(binding('/proc/self')).rejects.toThrow(/disallowed location/);
    writeFileSync(join(base, 'file'), '');
    await expect(binding(join(base, 'file'))).rejects.toThrow(/represents a file/);
  });
});
