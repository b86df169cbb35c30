// The state store contract (after components-contrib's state.Store). Keys arrive already prefixed
// by core (appid||key); values are raw bytes. Optional capabilities are separate interfaces and
// are also declared in features(); the conformance suite checks the two agree.
import type { Component } from '../types';

export const StateFeature = {
  ETAG: 'ETAG',
  TRANSACTIONAL: 'TRANSACTIONAL',
  QUERY_API: 'QUERY_API',
  TTL: 'TTL',
  DELETE_WITH_PREFIX: 'DELETE_WITH_PREFIX',
  PARTITION_KEY: 'PARTITION_KEY',
  KEYS_LIKE: 'KEYS_LIKE',
} as const;
export type StateFeature = (typeof StateFeature)[keyof typeof StateFeature];

export type Concurrency = 'first-write' | 'last-write';
export type Consistency = 'eventual' | 'strong';

export interface StateOptions {
  concurrency?: Concurrency;
  consistency?: Consistency;
}

export interface GetRequest {
  key: string;
  metadata: Record<string, string>;
  options?: { consistency?: Consistency };
}

export interface GetResponse {
  data: Buffer;
  etag?: string;
  /** e.g. ttlExpireTime (RFC3339) for stores with TTL. */
  metadata?: Record<string, string>;
}

export interface SetRequest {
  key: string;
  value: Buffer;
  etag?: string;
  metadata: Record<string, string>;
  options?: StateOptions;
  /** Parsed from metadata.ttlInSeconds by core: seconds; -1 means "no TTL". */
  ttlInSeconds?: number;
  /** Content type of value when known (application/json for Dapr HTTP values). */
  contentType?: string;
}

export interface DeleteRequest {
  key: string;
  etag?: string;
  metadata: Record<string, string>;
  options?: StateOptions;
}

export interface BulkGetItem {
  key: string;
  data?: Buffer;
  etag?: string;
  metadata?: Record<string, string>;
  error?: string;
}

export type TransactionalOperation =
  | { operation: 'upsert'; request: SetRequest }
  | { operation: 'delete'; request: DeleteRequest };

export interface TransactionalRequest {
  operations: TransactionalOperation[];
  metadata: Record<string, string>;
}

/** Dapr's state query language: filter (EQ/NEQ/IN/GT/GTE/LT/LTE/AND/OR), sort, page. */
export interface Query {
  filter?: Record<string, unknown>;
  sort?: { key: string; order?: 'ASC' | 'DESC' }[];
  page?: { limit?: number; token?: string };
}

export interface QueryRequest {
  query: Query;
  metadata: Record<string, string>;
}

export interface QueryItem {
  key: string;
  data: Buffer;
  etag?: string;
  error?: string;
}

export interface QueryResponse {
  results: QueryItem[];
  token?: string;
  metadata?: Record<string, string>;
}

export interface StateStore extends Component {
  /** Undefined when the key does not exist. */
  get(req: GetRequest): Promise<GetResponse | undefined>;
  set(req: SetRequest): Promise<void>;
  /** Deleting a missing key without an etag is not an error. */
  delete(req: DeleteRequest): Promise<void>;
  /** Optional native bulk ops; core falls back to per-key calls. Errors per key are joined. */
  bulkGet?(reqs: GetRequest[]): Promise<BulkGetItem[]>;
  bulkSet?(reqs: SetRequest[]): Promise<void>;
  bulkDelete?(reqs: DeleteRequest[]): Promise<void>;
  ping?(): Promise<void>;
}

export interface TransactionalStateStore extends StateStore {
  multi(req: TransactionalRequest): Promise<void>;
  /** Upper bound on operations per transaction, when the store has one. */
  multiMaxSize?(): number;
}

export interface QueryableStateStore extends StateStore {
  query(req: QueryRequest): Promise<QueryResponse>;
}

export const isTransactional = (s: StateStore): s is TransactionalStateStore =>
  typeof (s as TransactionalStateStore).multi === 'function' && s.features().includes(StateFeature.TRANSACTIONAL);

export const isQueryable = (s: StateStore): s is QueryableStateStore =>
  typeof (s as QueryableStateStore).query === 'function' && s.features().includes(StateFeature.QUERY_API);

/** Typed ETag failures; core maps them to 409 (mismatch) or 400 (invalid). */
export class ETagError extends Error {
  constructor(
    readonly reason: 'mismatch' | 'invalid',
    message?: string,
  ) {
    super(message ?? (reason === 'mismatch' ? 'possible etag mismatch. error from state store' : 'invalid etag value'));
    this.name = 'ETagError';
  }
}

/** A bulk operation where some keys failed; errors keep their key. */
export class BulkStoreError extends Error {
  constructor(readonly errors: { key: string; error: Error }[]) {
    super(errors.map((e) => `key ${e.key}: ${e.error.message}`).join('\n'));
    this.name = 'BulkStoreError';
  }
}

/** Finds the ETagError inside an error or a bulk error, if any. */
export function etagErrorOf(e: unknown): ETagError | undefined {
  if (e instanceof ETagError) return e;
  if (e instanceof BulkStoreError) return e.errors.map((x) => x.error).find((x): x is ETagError => x instanceof ETagError);
  return undefined;
}
