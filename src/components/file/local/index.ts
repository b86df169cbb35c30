// file.local: files under one root directory (Layotto's components/file/local, which takes any
// path as given; here every name is confined to `rootPath`, Dapr localstorage's metadata name).
// Uploads go to a temp file beside the target and are renamed into place once complete, so a cut
// or failed upload leaves nothing behind; contents stream in 64 KiB chunks both ways.
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { link, lstat, open, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { parseMetadata } from '../../metadata';
import type { ComponentMetadata } from '../../types';
import { FileError, type FileInfo, type FileStat, type FileStore, type ListFilesPage, type ListFilesRequest } from '../types';
import { goFileMode, goTime } from './go-format';
import { fsError, Root } from './root';

const schema = z.object({
  rootPath: z.string({ error: 'rootPath is required: the directory the store serves files from' }),
});

/** Temp files of uploads in progress; never listed. */
const TMP_PREFIX = '.layotto-upload-';
const CHUNK = 64 * 1024;
const DEFAULT_MODE = 0o644;

export class LocalFileStore implements FileStore {
  private root?: Root;

  async init(md: ComponentMetadata): Promise<void> {
    this.root = await Root.open(parseMetadata(schema, md.properties).rootPath);
  }

  features(): readonly string[] {
    return [];
  }

  async close(): Promise<void> {}

  async get(name: string, _metadata: Record<string, string>): Promise<Readable> {
    const real = await this.dir().existing(name);
    // O_NOFOLLOW: the real path has no link left in it unless one was swapped in since.
    const fh = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW).catch((e: unknown) => {
      throw fsError(e, name);
    });
    if ((await fh.stat()).isDirectory()) {
      await fh.close();
      throw new FileError('invalid', `file name "${name}" is a directory`);
    }
    return fh.createReadStream({ highWaterMark: CHUNK });
  }

  /** Layotto's per-upload metadata: FileMode (decimal, as Go's os.FileMode) and FileFlag (open flags; only O_EXCL matters here). */
  async put(name: string, data: Readable, metadata: Record<string, string>, signal?: AbortSignal): Promise<void> {
    const mode = intMeta(metadata, 'FileMode') ?? DEFAULT_MODE;
    const exclusive = ((intMeta(metadata, 'FileFlag') ?? 0) & constants.O_EXCL) !== 0;
    const { dir, base } = await this.dir().writable(name);
    const target = join(dir, base);
    const tmp = join(dir, `${TMP_PREFIX}${randomUUID()}`);
    let out: ReturnType<typeof createWriteStream> | undefined;
    try {
      out = createWriteStream(tmp, { flags: 'wx', mode: mode & 0o7777, flush: true, highWaterMark: CHUNK });
      await (signal ? pipeline(data, out, { signal }) : pipeline(data, out));
      signal?.throwIfAborted();
      // link() refuses an existing target, so O_EXCL holds even against a concurrent upload.
      if (exclusive) await link(tmp, target).then(() => unlink(tmp));
      else await rename(tmp, target);
    } catch (e) {
      // The file is opened asynchronously: an upload cut early must wait for the open (and close)
      // to finish, or the temp file would appear after it was removed.
      if (out && !out.closed) await once(out, 'close').catch(() => undefined);
      await rm(tmp, { force: true });
      throw fsError(e, name);
    }
  }

  async list(req: ListFilesRequest): Promise<ListFilesPage> {
    const root = this.dir();
    const dir = req.directory === '' ? root.dir : await root.existing(req.directory);
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => !n.startsWith(TMP_PREFIX)).sort();
    } catch (e) {
      throw fsError(e, req.directory);
    }
    // Entries after the marker, in name order (a marker that has since been deleted still works).
    const rest = req.marker ? names.filter((n) => n > req.marker) : names;
    const files: FileInfo[] = [];
    let i = 0;
    for (; i < rest.length && (req.pageSize <= 0 || files.length < req.pageSize); i++) {
      const st = await lstat(join(dir, rest[i]!), { bigint: true }).catch(() => undefined);
      if (st) files.push({ name: rest[i]!, size: Number(st.size), lastModified: goTime(st.mtimeNs), metadata: {} });
    }
    return { files, marker: files.at(-1)?.name ?? '', isTruncated: i < rest.length };
  }

  async del(name: string, _metadata: Record<string, string>): Promise<void> {
    const { dir, base } = await this.existingParent(name);
    const path = join(dir, base);
    try {
      // lstat: a link is removed itself, never what it points to.
      if ((await lstat(path)).isDirectory()) await rmdir(path);
      else await unlink(path);
    } catch (e) {
      throw fsError(e, name);
    }
  }

  async stat(name: string, _metadata: Record<string, string>): Promise<FileStat> {
    const real = await this.dir().existing(name);
    const st = await stat(real, { bigint: true }).catch((e: unknown) => {
      throw fsError(e, name);
    });
    return {
      size: Number(st.size),
      lastModified: goTime(st.mtimeNs),
      metadata: { FileMode: [String(goFileMode(st))], IsDir: [String(st.isDirectory())] },
    };
  }

  private dir(): Root {
    if (!this.root) throw new Error('file.local store is not initialized');
    return this.root;
  }

  /** The entry's real parent directory (checked inside the root) and its own name. */
  private async existingParent(name: string): Promise<{ dir: string; base: string }> {
    const root = this.dir();
    const segs = root.segments(name);
    const base = segs.pop()!;
    const dir = segs.length ? await root.existing(segs.join('/')) : root.dir;
    return { dir, base };
  }
}

function intMeta(metadata: Record<string, string>, key: string): number | undefined {
  const v = metadata[key];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new FileError('invalid', `wrong ${key} value: "${v}" is not a decimal number`);
  return Number(v);
}
