// bindings.localstorage (output), as contrib's: files under `rootPath`, named by request metadata
// `fileName` (create without one makes a UUID name). create writes the data (a quoted string is
// unquoted, then decoded when it is valid base64, as contrib does) and answers {"fileName": rel};
// get answers the bytes; delete removes; list answers every file below fileName (the root by
// default) as absolute paths, or null when there are none. Names leaving the root are refused.
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { parseMetadata } from '../../metadata';
import { ComponentConfigError, type ComponentMetadata } from '../../types';
import { BindingOperation, type BindingInvokeRequest, type BindingInvokeResponse, type OutputBinding } from '../types';
import { goFsError } from './go-fs';
import { prepareRoot, resolveInRoot } from './paths';

const schema = z.object({ rootPath: z.string({ error: 'property rootPath must not be empty' }) });

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** contrib's create: strconv.Unquote when the data is a quoted string, then base64 when it decodes. */
export function fileContent(data: Buffer): Buffer {
  let text = data.toString('utf8');
  let out = data;
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) {
    try {
      const s = JSON.parse(text) as string;
      text = s;
      out = Buffer.from(s, 'utf8');
    } catch {
      // not a quoted string after all: kept as is
    }
  } else if (text.length >= 2 && text.startsWith('`') && text.endsWith('`') && !text.slice(1, -1).includes('`')) {
    text = text.slice(1, -1);
    out = Buffer.from(text, 'utf8');
  }
  // Go's StdEncoding skips line breaks and wants the padding.
  const compact = text.replace(/[\r\n]/g, '');
  return BASE64.test(compact) ? Buffer.from(compact, 'base64') : out;
}

/** filepath.Walk's order (lexical, depth first, links not followed): the files, not the directories. */
async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else out.push(p);
  }
}

export class LocalStorageBinding implements OutputBinding {
  private root?: string;

  async init(md: ComponentMetadata): Promise<void> {
    const { rootPath } = parseMetadata(schema, md.properties);
    try {
      this.root = await prepareRoot(rootPath);
    } catch (e) {
      throw new ComponentConfigError(`failed to parse metadata: ${(e as Error).message}`, 'rootPath');
    }
  }

  features(): readonly string[] {
    return [];
  }

  operations(): readonly string[] {
    return [BindingOperation.CREATE, BindingOperation.GET, BindingOperation.LIST, BindingOperation.DELETE];
  }

  async invoke(req: BindingInvokeRequest): Promise<BindingInvokeResponse | undefined> {
    const root = this.root;
    if (!root) throw new Error('localstorage binding is not initialized');
    let fileName = req.metadata.fileName ?? '';
    if (!fileName && req.operation === BindingOperation.CREATE) fileName = randomUUID();
    const { abs, rel } = await resolveInRoot(root, fileName);
    switch (req.operation) {
      case BindingOperation.CREATE:
        return this.create(abs, rel, fileContent(req.data));
      case BindingOperation.GET:
        return this.get(abs);
      case BindingOperation.DELETE:
        try {
          await unlink(abs);
        } catch (e) {
          throw new Error(`error deleting file ${abs}: ${goFsError('remove', abs, e)}`);
        }
        return undefined;
      case BindingOperation.LIST:
        return this.list(abs);
      default:
        throw new Error(`unsupported operation ${req.operation}`);
    }
  }

  async close(): Promise<void> {}

  private async create(abs: string, rel: string, data: Buffer): Promise<BindingInvokeResponse> {
    const dir = dirname(abs);
    try {
      await mkdir(dir, { recursive: true });
    } catch (e) {
      throw new Error(`error creating directory ${dir}: ${goFsError('mkdir', dir, e)}`);
    }
    // O_NOFOLLOW: a link planted after the path check still cannot redirect the write.
    let file;
    try {
      file = await open(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o666);
    } catch (e) {
      throw new Error(`error creating file ${abs}: ${goFsError('open', abs, e)}`);
    }
    try {
      await file.writeFile(data);
    } catch (e) {
      throw new Error(`error writing to file ${abs}: ${goFsError('write', abs, e)}`);
    } finally {
      await file.close();
    }
    return { data: Buffer.from(JSON.stringify({ fileName: rel })), metadata: {} };
  }

  private async get(abs: string): Promise<BindingInvokeResponse> {
    try {
      return { data: await readFile(abs), metadata: {} };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new Error(`file not found: ${abs}`);
      if (code === 'EISDIR') throw new Error(`error reading file ${abs}: ${goFsError('read', abs, e)}`);
      throw new Error(`error opening path ${abs}: ${goFsError('open', abs, e)}`);
    }
  }

  private async list(abs: string): Promise<BindingInvokeResponse> {
    let isDir: boolean;
    try {
      isDir = (await stat(abs)).isDirectory();
    } catch (e) {
      throw new Error(`error getting stats for path ${abs}: ${goFsError('stat', abs, e)}`);
    }
    if (!isDir) throw new Error(`unable to list files as the file specified is not a directory: ${abs}`);
    const files: string[] = [];
    try {
      await walk(abs, files);
    } catch (e) {
      throw new Error(`error listing files in the directory ${abs}: ${goFsError('lstat', abs, e)}`);
    }
    // Go marshals an empty (nil) slice as null.
    return { data: Buffer.from(files.length ? JSON.stringify(files) : 'null'), metadata: {} };
  }
}
