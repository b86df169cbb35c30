// Confines every name to the store's root directory. Names are relative, '/'-separated paths;
// absolute names, '..' segments and symlinks that lead outside the root are refused. Real paths
// are checked (realpath), so a link inside the root cannot hand out a file elsewhere.
import { mkdir, realpath, stat } from 'node:fs/promises';
import { join, posix, sep } from 'node:path';
import { FileError } from '../types';

/** Node's fs error as Layotto's file error reasons; anything else is passed on unchanged. */
export function fsError(e: unknown, name: string): unknown {
  switch ((e as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return new FileError('not-found', 'file does not exist');
    case 'EACCES':
    case 'EPERM':
      return new FileError('permission', 'permission denied');
    case 'EEXIST':
      return new FileError('exists', 'file already exists');
    case 'EISDIR':
      return new FileError('invalid', `file name "${name}" is a directory`);
    case 'ENOTDIR':
      return new FileError('invalid', `a parent of "${name}" is not a directory`);
    case 'ENOTEMPTY':
      return new FileError('invalid', `directory "${name}" is not empty`);
    case 'ELOOP':
      return new FileError('invalid', `file name "${name}" has too many levels of symbolic links`);
    case 'ENAMETOOLONG':
      return new FileError('invalid', `file name "${name}" is too long`);
    default:
      return e;
  }
}

export class Root {
  private constructor(
    /** The root's real path. */
    readonly dir: string,
  ) {}

  /** The root at `path`, created when missing (as Dapr's localstorage does). */
  static async open(path: string): Promise<Root> {
    await mkdir(path, { recursive: true });
    const dir = await realpath(path);
    if (!(await stat(dir)).isDirectory()) throw new Error(`${path} is not a directory`);
    return new Root(dir);
  }

  /** The name's segments under the root; throws FileError('invalid') for names that could leave it. */
  segments(name: string): string[] {
    const bad = (why: string) => new FileError('invalid', `invalid file name "${name}": ${why}`);
    if (name === '') throw bad('the name is empty');
    if (name.includes('\0')) throw bad('it contains a NUL byte');
    if (posix.isAbsolute(name)) throw bad("absolute paths are refused; names are relative to the store's root");
    const segs = name.split('/').filter((s) => s !== '' && s !== '.');
    if (segs.includes('..')) throw bad("'..' segments are refused");
    if (segs.length === 0) throw bad("it names the store's root");
    return segs;
  }

  /** The real path of an existing entry; refused when a symlink takes it outside the root. */
  async existing(name: string): Promise<string> {
    const segs = this.segments(name);
    let real: string;
    try {
      real = await realpath(join(this.dir, ...segs));
    } catch (e) {
      throw fsError(e, name);
    }
    this.check(real, name);
    return real;
  }

  /**
   * Where `name` is written: its parent's real path (missing directories created under the deepest
   * existing one, after that one is checked, so mkdir never follows a link out) plus the base name.
   */
  async writable(name: string): Promise<{ dir: string; base: string }> {
    const segs = this.segments(name);
    const base = segs.pop()!;
    let i = segs.length;
    let real = this.dir;
    for (; i > 0; i--) {
      try {
        real = await realpath(join(this.dir, ...segs.slice(0, i)));
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(e, name);
      }
    }
    this.check(real, name);
    const dir = join(real, ...segs.slice(i));
    try {
      if (i < segs.length) await mkdir(dir, { recursive: true });
    } catch (e) {
      throw fsError(e, name);
    }
    return { dir, base };
  }

  private check(real: string, name: string): void {
    const prefix = this.dir.endsWith(sep) ? this.dir : this.dir + sep;
    if (real !== this.dir && !real.startsWith(prefix)) {
      throw new FileError('invalid', `invalid file name "${name}": a symbolic link leads outside the store's root`);
    }
  }
}
