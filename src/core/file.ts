// The file building block (Layotto's File API), written once: store lookup, name checks and
// Layotto's error mapping. Contents stay streams end to end; the core never buffers a file.
import type { Readable } from 'node:stream';
import { errMessage, RuntimeError } from '../errors/runtime-error';
import type { ErrorKind } from '../errors/codes';
import { FileError, type FileErrorReason, type FileStat, type FileStore, type ListFilesPage } from '../components/file/types';
import type { CoreContext } from './context';

export interface FileInput {
  storeName: string;
  name: string;
  metadata?: Record<string, string>;
}

export interface ListFilesInput extends FileInput {
  marker?: string;
  pageSize?: number;
}

/** FileErrMap2GrpcErr: each component error reason keeps its text under its own status. */
const BY_REASON: Record<FileErrorReason, ErrorKind> = {
  invalid: 'FILE_INVALID',
  'not-found': 'FILE_NOT_FOUND',
  exists: 'FILE_EXISTS',
  permission: 'FILE_PERMISSION',
};

/** A component failure as a RuntimeError; unexpected ones are `fallback` (Internal). */
function fileError(e: unknown, fallback: 'FILE_GET' | 'FILE_STORE'): RuntimeError {
  if (e instanceof RuntimeError) return e;
  if (e instanceof FileError) return new RuntimeError(BY_REASON[e.reason], e.message);
  return new RuntimeError(fallback, errMessage(e));
}

/** The store's promise, its rejection mapped by fileError. */
const guard = <T>(p: Promise<T>, fallback: 'FILE_GET' | 'FILE_STORE'): Promise<T> =>
  p.catch((e: unknown) => {
    throw fileError(e, fallback);
  });

export class FileCore {
  constructor(private readonly ctx: CoreContext) {}

  /** Opens the file; read failures later in the stream surface as `streamError` values. */
  async get(req: FileInput): Promise<Readable> {
    const store = this.store(req, 'FILE_STORE_NOT_SUPPORTED');
    return guard(store.get(req.name, req.metadata ?? {}), 'FILE_GET');
  }

  /** Stores `data` under the name; the store commits only once `data` has ended cleanly. */
  async put(req: FileInput & { data: Readable; signal?: AbortSignal }): Promise<void> {
    const store = this.store(req, 'FILE_STORE_NOT_FOUND');
    await guard(store.put(req.name, req.data, req.metadata ?? {}, req.signal), 'FILE_STORE');
  }

  /** One page of the directory `name` ('' is the store's root), after `marker`. */
  async list(req: ListFilesInput): Promise<ListFilesPage> {
    const store = this.store(req, 'FILE_STORE_NOT_FOUND', true);
    const listing = store.list({ directory: req.name, marker: req.marker ?? '', pageSize: req.pageSize ?? 0, metadata: req.metadata ?? {} });
    return guard(listing, 'FILE_STORE');
  }

  async del(req: FileInput): Promise<void> {
    const store = this.store(req, 'FILE_STORE_NOT_FOUND');
    await guard(store.del(req.name, req.metadata ?? {}), 'FILE_STORE');
  }

  async stat(req: FileInput): Promise<FileStat> {
    const store = this.store(req, 'FILE_STORE_NOT_FOUND');
    return guard(store.stat(req.name, req.metadata ?? {}), 'FILE_STORE');
  }

  /** A failure while a GetFile stream is being read, as the error GetFile reports. */
  streamError(e: unknown): RuntimeError {
    return fileError(e, 'FILE_GET');
  }

  /** Layotto's order: the store first, then the request (an empty name only where one is needed). */
  private store(req: FileInput, notFound: 'FILE_STORE_NOT_FOUND' | 'FILE_STORE_NOT_SUPPORTED', emptyNameOk = false): FileStore {
    const live = this.ctx.components.get('file', req.storeName);
    if (!live) throw new RuntimeError(notFound, req.storeName);
    if (!req.name && !emptyNameOk) throw new RuntimeError('FILE_NAME_EMPTY', req.storeName);
    return live.instance;
  }
}
