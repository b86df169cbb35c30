// The file contract (Layotto's components/file File: Put, Get, List, Del, Stat). Contents move as
// streams both ways, so no store ever holds a whole file in memory.
import type { Readable } from 'node:stream';
import type { Component } from '../types';

export interface FileInfo {
  name: string;
  size: number;
  lastModified: string;
  metadata: Record<string, string>;
}

export interface ListFilesRequest {
  /** The directory (or prefix) to list; '' is the store's root. */
  directory: string;
  /** Where the previous page stopped ('' for the first page). */
  marker: string;
  /** Files per page; 0 or less means all of them (as Layotto's local store). */
  pageSize: number;
  metadata: Record<string, string>;
}

export interface ListFilesPage {
  files: FileInfo[];
  /** The name to pass as the next page's marker. */
  marker: string;
  isTruncated: boolean;
}

export interface FileStat {
  size: number;
  lastModified: string;
  /** Store-specific facts, several values per name (Layotto's FileMetaResp.Metadata). */
  metadata: Record<string, string[]>;
}

export interface FileStore extends Component {
  /** Opens the file; rejects before the stream exists when it cannot be read. */
  get(name: string, metadata: Record<string, string>): Promise<Readable>;
  /**
   * Stores everything `data` yields under `name`; a failed or cut stream stores nothing, and neither
   * does an upload whose `signal` aborts before it is committed (a gRPC client that cancels may have
   * half-closed first, so its stream can end cleanly just before the cancel is seen).
   */
  put(name: string, data: Readable, metadata: Record<string, string>, signal?: AbortSignal): Promise<void>;
  list(req: ListFilesRequest): Promise<ListFilesPage>;
  del(name: string, metadata: Record<string, string>): Promise<void>;
  stat(name: string, metadata: Record<string, string>): Promise<FileStat>;
}

/** Layotto's file errors (components/file/errors.go); the runtime maps each reason to a status. */
export type FileErrorReason = 'invalid' | 'not-found' | 'exists' | 'permission';

export class FileError extends Error {
  constructor(
    readonly reason: FileErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'FileError';
  }
}
