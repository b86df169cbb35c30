// The state building block, written once. Dapr HTTP, Dapr gRPC and Layotto gRPC call these
// functions with plain values and serialize what they return; errors are RuntimeErrors. Every
// store call runs under the store's outbound resiliency policies, as daprd runs them.
import { errMessage, RuntimeError } from '../errors/runtime-error';
import {
  BulkStoreError,
  type BulkGetItem,
  type Concurrency,
  type Consistency,
  type DeleteRequest,
  ETagError,
  etagErrorOf,
  type GetResponse,
  isQueryable,
  isTransactional,
  type Query,
  type QueryItem,
  type SetRequest,
  type StateOptions,
  type StateStore,
  type TransactionalOperation,
} from '../components/state/types';
import { settleAll } from '../components/state/bulk';
import type { ErrorKind } from '../errors/codes';
import type { CoreContext } from './context';
import { permanent } from './resiliency/errors';
import { NO_RESILIENCY, type Resiliency } from './resiliency/types';

const SEP = '||';
const DEFAULT_BULK_PARALLELISM = 10;

/** One item to save, as every API carries it. */
export interface StateItemInput {
  key: string;
  value: Buffer;
  etag?: string;
  metadata?: Record<string, string>;
  options?: { concurrency?: string; consistency?: string };
  contentType?: string;
}

export interface TransactionOpInput {
  /** "upsert" | "delete"; anything else is refused. */
  operation: string;
  request: StateItemInput;
}

export interface GetStateResult {
  data: Buffer;
  etag?: string;
  metadata: Record<string, string>;
}

export interface QueryStateResult {
  results: QueryItem[];
  token?: string;
  metadata?: Record<string, string>;
}

export class StateCore {
  private readonly prefixCache = new WeakMap<object, string>();

  constructor(
    private readonly ctx: CoreContext,
    private readonly resiliency: Resiliency = NO_RESILIENCY,
  ) {}

  async get(storeName: string, key: string, metadata: Record<string, string> = {}, consistency?: string): Promise<GetStateResult | undefined> {
    const { store, prefixed } = this.resolve(storeName, key);
    const options = { consistency: consistencyOf(consistency) };
    let res: GetResponse | undefined;
    try {
      res = await this.outbound(storeName, () => store.get({ key: prefixed, metadata, options }));
    } catch (e) {
      throw new RuntimeError('STATE_GET', key, storeName, errMessage(e));
    }
    if (!res) return undefined;
    return { data: res.data, etag: res.etag, metadata: res.metadata ?? {} };
  }

  async bulkGet(storeName: string, keys: string[], parallelism = 0, metadata: Record<string, string> = {}): Promise<BulkGetItem[]> {
    const store = this.store(storeName);
    const prefixedKeys = keys.map((k) => this.prefix(storeName, k));
    if (store.bulkGet) {
      try {
        const bulkGet = store.bulkGet.bind(store);
        const items = await this.outbound(storeName, () => bulkGet(prefixedKeys.map((key) => ({ key, metadata }))));
        return items.map((it, i) => ({ ...it, key: keys[i]! }));
      } catch (e) {
        throw new RuntimeError('STATE_BULK_GET', storeName, errMessage(e));
      }
    }
    return mapLimit(prefixedKeys, parallelism > 0 ? parallelism : DEFAULT_BULK_PARALLELISM, async (key, i) => {
      try {
        const r = await this.outbound(storeName, () => store.get({ key, metadata }));
        return r ? { key: keys[i]!, data: r.data, etag: r.etag, metadata: r.metadata } : { key: keys[i]! };
      } catch (e) {
        return { key: keys[i]!, error: errMessage(e) };
      }
    });
  }

  async save(storeName: string, items: StateItemInput[], urlMetadata: Record<string, string> = {}): Promise<void> {
    const store = this.store(storeName);
    if (items.length === 0) return;
    const reqs = items.map((it) => this.setRequest(storeName, it, urlMetadata, 'STATE_SAVE'));
    try {
      await this.bulkWrite(storeName, reqs, (r) => store.set(r), (rs) => (store.bulkSet ? store.bulkSet(rs) : settleAll(rs, (r) => store.set(r))));
    } catch (e) {
      throw this.writeError(e, { mismatch: 'STATE_SAVE_ETAG_MISMATCH', invalid: 'STATE_SAVE_ETAG_INVALID', other: 'STATE_SAVE' }, storeName);
    }
  }

  async delete(storeName: string, key: string, etag?: string, options?: StateItemInput['options'], metadata: Record<string, string> = {}): Promise<void> {
    const { store, prefixed } = this.resolve(storeName, key);
    const req: DeleteRequest = { key: prefixed, etag: etag || undefined, metadata, options: optionsOf(options) };
    try {
      await this.outbound(storeName, () => store.delete(req));
    } catch (e) {
      throw this.writeError(e, { mismatch: 'STATE_DELETE_ETAG_MISMATCH', invalid: 'STATE_DELETE_ETAG_INVALID', other: 'STATE_DELETE' }, key);
    }
  }

  async bulkDelete(storeName: string, items: StateItemInput[]): Promise<void> {
    const store = this.store(storeName);
    const reqs: DeleteRequest[] = items.map((it) => ({
      key: this.prefix(storeName, it.key),
      etag: it.etag || undefined,
      metadata: it.metadata ?? {},
      options: optionsOf(it.options),
    }));
    try {
      await this.bulkWrite(storeName, reqs, (r) => store.delete(r), (rs) => (store.bulkDelete ? store.bulkDelete(rs) : settleAll(rs, (r) => store.delete(r))));
    } catch (e) {
      throw this.writeError(e, { mismatch: 'STATE_DELETE_ETAG_MISMATCH', invalid: 'STATE_DELETE_ETAG_INVALID', other: 'STATE_DELETE_BULK' }, storeName);
    }
  }

  async transaction(storeName: string, ops: TransactionOpInput[], metadata: Record<string, string> = {}): Promise<void> {
    const store = this.store(storeName);
    if (!isTransactional(store)) throw new RuntimeError('STATE_TRANSACTIONS_NOT_SUPPORTED', storeName).withResource('state', storeName);
    const max = store.multiMaxSize?.();
    if (max !== undefined && max > 0 && ops.length > max) throw new RuntimeError('STATE_TOO_MANY_TRANSACTIONS', ops.length, max);
    const operations: TransactionalOperation[] = ops.map((op) => {
      if (op.operation === 'upsert') {
        return { operation: 'upsert', request: this.setRequest(storeName, op.request, {}, 'STATE_TRANSACTION') };
      }
      if (op.operation === 'delete') {
        const r = op.request;
        return {
          operation: 'delete',
          request: { key: this.prefix(storeName, r.key), etag: r.etag || undefined, metadata: r.metadata ?? {}, options: optionsOf(r.options) },
        };
      }
      throw new RuntimeError('STATE_OPERATION_NOT_SUPPORTED', op.operation);
    });
    if (operations.length === 0) return;
    try {
      await this.outbound(storeName, () => store.multi({ operations, metadata }));
    } catch (e) {
      // daprd answers 500 ERR_STATE_TRANSACTION (gRPC Internal) for every failure of Multi, ETags included.
      if (e instanceof RuntimeError) throw e;
      throw new RuntimeError('STATE_TRANSACTION', errMessage(e));
    }
  }

  async query(storeName: string, query: Query, metadata: Record<string, string> = {}): Promise<QueryStateResult> {
    const store = this.store(storeName);
    if (!isQueryable(store)) throw new RuntimeError('STATE_QUERY_NOT_SUPPORTED').withResource('state', storeName);
    if (query === null || typeof query !== 'object' || Array.isArray(query)) {
      throw new RuntimeError('STATE_QUERY_BAD_REQUEST', storeName, 'query must be a JSON object');
    }
    let res;
    try {
      res = await this.outbound(storeName, () => store.query({ query, metadata }));
    } catch (e) {
      if (e instanceof RuntimeError) throw e;
      throw new RuntimeError('STATE_QUERY', storeName, errMessage(e)).withResource('state', storeName);
    }
    return { ...res, results: res.results.map((r) => ({ ...r, key: originalKey(r.key) })) };
  }

  /** A store call under the store's outbound policies. ETag failures and input errors are final. */
  private outbound<T>(storeName: string, call: () => Promise<T>): Promise<T> {
    return this.resiliency.componentOutbound(
      storeName,
      () =>
        call().catch((e: unknown) => {
          throw isFinal(e) ? permanent(e) : e;
        }),
      'state',
    );
  }

  /**
   * Writes several items; a retry sends only the items that failed for a reason other than their
   * ETag (daprd's PerformBulkStoreOperation). ETag failures are reported once the rest is done.
   */
  private async bulkWrite<R extends { key: string }>(storeName: string, reqs: R[], one: (r: R) => Promise<void>, many: (rs: R[]) => Promise<void>): Promise<void> {
    let pending = reqs;
    const etagFailures: BulkStoreError['errors'] = [];
    await this.outbound(storeName, async () => {
      if (pending.length === 1) return one(pending[0]!);
      try {
        await many(pending);
      } catch (e) {
        if (!(e instanceof BulkStoreError)) throw e;
        const retry = e.errors.filter((x) => !(x.error instanceof ETagError));
        etagFailures.push(...e.errors.filter((x) => x.error instanceof ETagError));
        if (retry.length === 0) throw new BulkStoreError(etagFailures);
        pending = pending.filter((r) => retry.some((x) => x.key === r.key));
        throw e;
      }
    });
    if (etagFailures.length > 0) throw new BulkStoreError(etagFailures);
  }

  /** The live store, or the not-configured / not-found error daprd gives. */
  store(storeName: string): StateStore {
    const c = this.ctx.components.get('state', storeName);
    if (c) return c.instance;
    if (this.ctx.components.count('state') === 0) throw new RuntimeError('STATE_STORE_NOT_CONFIGURED').withResource('state', storeName);
    throw new RuntimeError('STATE_STORE_NOT_FOUND', storeName).withResource('state', storeName);
  }

  /** Applies the store's keyPrefix strategy (Dapr's GetModifiedStateKey). */
  prefix(storeName: string, key: string): string {
    if (key === undefined || key === null || key === '') throw new RuntimeError('STATE_KEY_EMPTY');
    if (key.includes(SEP)) throw new RuntimeError('STATE_ILLEGAL_KEY', key);
    const strategy = this.keyPrefix(storeName);
    const { appId, namespace } = this.ctx;
    switch (strategy.toLowerCase()) {
      case 'none':
        return key;
      case 'name':
        return `${storeName}${SEP}${key}`;
      case 'appid':
        return appId ? `${appId}${SEP}${key}` : key;
      case 'namespace':
        if (!appId) return key;
        return namespace ? `${namespace}.${appId}${SEP}${key}` : `${appId}${SEP}${key}`;
      default:
        return `${strategy}${SEP}${key}`;
    }
  }

  /** The store's keyPrefix metadata, read once per live component (hot path). */
  private keyPrefix(storeName: string): string {
    const live = this.ctx.components.get('state', storeName);
    if (!live) return 'appid';
    let strategy = this.prefixCache.get(live.meta);
    if (strategy === undefined) {
      strategy = Object.entries(live.meta.properties).find(([k, v]) => k.toLowerCase() === 'keyprefix' && v)?.[1] ?? 'appid';
      this.prefixCache.set(live.meta, strategy);
    }
    return strategy;
  }

  private resolve(storeName: string, key: string): { store: StateStore; prefixed: string } {
    const store = this.store(storeName);
    return { store, prefixed: this.prefix(storeName, key) };
  }

  private setRequest(storeName: string, it: StateItemInput, extra: Record<string, string>, onBadTtl: ErrorKind): SetRequest {
    const metadata = { ...extra, ...it.metadata };
    return {
      key: this.prefix(storeName, it.key),
      value: it.value,
      etag: it.etag || undefined,
      metadata,
      options: optionsOf(it.options),
      ttlInSeconds: parseTtl(metadata, onBadTtl, storeName),
      contentType: it.contentType,
    };
  }

  private writeError(e: unknown, kinds: { mismatch: ErrorKind; invalid: ErrorKind; other: ErrorKind }, subject?: string): RuntimeError {
    if (e instanceof RuntimeError) return e;
    const etag = etagErrorOf(e);
    const kind = etag ? kinds[etag.reason] : kinds.other;
    return subject === undefined ? new RuntimeError(kind, errMessage(e)) : new RuntimeError(kind, subject, errMessage(e));
  }
}

/** Errors a retry cannot mend: ETag conflicts and the caller's own mistakes. */
function isFinal(e: unknown): boolean {
  if (e instanceof ETagError || e instanceof RuntimeError) return true;
  return e instanceof BulkStoreError && e.errors.every((x) => x.error instanceof ETagError);
}

/** Text after the first "||" (Dapr's GetOriginalStateKey). */
export function originalKey(key: string): string {
  const i = key.indexOf(SEP);
  return i < 0 ? key : key.slice(i + SEP.length);
}

function parseTtl(md: Record<string, string>, kind: ErrorKind, storeName: string): number | undefined {
  const raw = md.ttlInSeconds;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < -1) {
    const msg = `failed to parse ttlInSeconds: "${raw}" is not an integer >= -1`;
    throw kind === 'STATE_TRANSACTION' ? new RuntimeError(kind, msg) : new RuntimeError(kind, storeName, msg);
  }
  return n;
}

function consistencyOf(v?: string): Consistency | undefined {
  if (!v) return undefined;
  if (v === 'eventual' || v === 'strong') return v;
  throw new RuntimeError('STATE_BAD_METADATA', `unrecognized consistency model '${v}'`);
}

function concurrencyOf(v?: string): Concurrency | undefined {
  if (!v) return undefined;
  if (v === 'first-write' || v === 'last-write') return v;
  throw new RuntimeError('STATE_BAD_METADATA', `unrecognized concurrency model '${v}'`);
}

function optionsOf(o?: StateItemInput['options']): StateOptions | undefined {
  if (!o) return undefined;
  return { concurrency: concurrencyOf(o.concurrency), consistency: consistencyOf(o.consistency) };
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
