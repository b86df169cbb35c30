// Where a request's fileName may point: inside rootPath and nowhere else. Unlike contrib (which
// clamps "../x" and "/x" back under the root with securejoin), a name that would leave the root
// is refused outright: "..", absolute paths, and symbolic links (dangling ones included) that lead
// out. The root itself is resolved once at init, symlinks and all, as contrib's validateRootPath.
import { lstat, mkdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { goFsError } from './go-fs';

/** contrib's disallowedRootPaths. */
const DISALLOWED = ['/proc', '/sys', '/boot', '/var/run/secrets'];

const inside = (root: string, p: string): boolean => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);

/** The absolute, symlink-free root (created when missing); refuses files and the system's own trees. */
export async function prepareRoot(rootPath: string): Promise<string> {
  if (!rootPath) throw new Error('property rootPath must not be empty');
  const abs = resolve(rootPath);
  // Resolve symlinks in the part that exists; the rest is created below it.
  let existing = abs;
  for (;;) {
    try {
      if (!(await stat(existing)).isDirectory()) throw new Error('property rootPath represents a file and not a directory');
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      existing = dirname(existing);
    }
  }
  const root = join(await realpath(existing), abs.slice(existing.length));
  if (DISALLOWED.some((d) => inside(d, root))) throw new Error('property rootPath points to a disallowed location');
  try {
    await mkdir(root, { recursive: true });
  } catch (e) {
    throw new Error(`unable to create directory specified by 'rootPath' ${root}: ${goFsError('mkdir', root, e)}`);
  }
  return root;
}

/** The real location of `abs` (symlinks resolved as far as the path exists); a dangling link is refused. */
async function realLocation(abs: string): Promise<string> {
  let p = abs;
  let rest = '';
  for (;;) {
    try {
      return join(await realpath(p), rest);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      const st = await lstat(p).catch(() => undefined);
      if (st?.isSymbolicLink()) throw new Error('path escapes rootPath through a symbolic link');
      rest = join(basename(p), rest);
      p = dirname(p);
    }
  }
}

/** fileName → {abs, rel} under root, or an error naming why it is refused. */
export async function resolveInRoot(root: string, fileName: string): Promise<{ abs: string; rel: string }> {
  const refuse = (why: string) => new Error(`error getting absolute path for file ${fileName}: ${why}`);
  if (fileName.includes('\0')) throw refuse('file names cannot contain NUL bytes');
  if (isAbsolute(fileName)) throw refuse('absolute paths are not allowed, fileName must be relative to rootPath');
  const abs = join(root, fileName);
  if (!inside(root, abs)) throw refuse('path escapes rootPath');
  let real: string;
  try {
    real = await realLocation(abs);
  } catch (e) {
    throw refuse((e as Error).message);
  }
  if (!inside(root, real)) throw refuse('path escapes rootPath through a symbolic link');
  return { abs, rel: relative(root, abs) || '.' };
}
