// state.in-memory: a process-local store with ETags, first-write, TTL and transactions.
// ETags are decimal version counters, as Redis's; a non-numeric ETag is "invalid" (400).
import type { ComponentMetadata } from '../../types';
import {
  type DeleteRequest,
  ETagError,
  type GetRequest,
  type GetResponse,
  type SetRequest,
  StateFeature,
  type TransactionalRequest,
  type TransactionalStateStore,
} from '../types';

interface Entry {
  data: Buffer;
  version: number;
  /** epoch ms; undefined = never expires */
  expireAt?: number;
}

const SWEEP_MS = 1000;

export class InMemoryStateStore implements TransactionalStateStore {
  private readonly items = new Map<string, Entry>();
  private sweeper?: NodeJS.Timeout;

  async init(_md: ComponentMetadata): Promise<void> {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  features(): readonly string[] {
    return [StateFeature.ETAG, StateFeature.TRANSACTIONAL, StateFeature.TTL];
  }

  async ping(): Promise<void> {}

  async get(req: GetRequest): Promise<GetResponse | undefined> {
    const e = this.live(req.key);
    if (!e) return undefined;
    const res: GetResponse = { data: e.data, etag: String(e.version) };
    if (e.expireAt !== undefined) res.metadata = { ttlExpireTime: new Date(e.expireAt).toISOString() };
    return res;
  }

  async set(req: SetRequest): Promise<void> {
    this.check(req.key, req.etag, req.options?.concurrency === 'first-write');
    this.apply({ operation: 'upsert', request: req });
  }

  async delete(req: DeleteRequest): Promise<void> {
    this.check(req.key, req.etag, false);
    this.items.delete(req.key);
  }

  async multi(req: TransactionalRequest): Promise<void> {
    // Validate against a scratch view so that a failing op leaves nothing applied.
    const before = new Map<string, Entry | undefined>();
    try {
      for (const op of req.operations) {
        const k = op.request.key;
        if (!before.has(k)) before.set(k, this.items.get(k));
        if (op.operation === 'upsert') {
          this.check(k, op.request.etag, op.request.options?.concurrency === 'first-write');
        } else {
          this.check(k, op.request.etag, false);
        }
        this.apply(op);
      }
    } catch (e) {
      for (const [k, v] of before) {
        if (v) this.items.set(k, v);
        else this.items.delete(k);
      }
      throw e;
    }
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.items.clear();
  }

  private apply(op: TransactionalRequest['operations'][number]): void {
    if (op.operation === 'delete') {
      this.items.delete(op.request.key);
      return;
    }
    const req = op.request;
    const prev = this.live(req.key);
    const ttl = req.ttlInSeconds;
    const expireAt = ttl !== undefined && ttl > 0 ? Date.now() + ttl * 1000 : undefined;
    this.items.set(req.key, { data: Buffer.from(req.value), version: (prev?.version ?? 0) + 1, expireAt });
  }

  /** ETag and first-write rules shared by set, delete and transactions. */
  private check(key: string, etag: string | undefined, firstWrite: boolean): void {
    const cur = this.live(key);
    if (etag !== undefined && etag !== '') {
      if (!/^\d+$/.test(etag)) throw new ETagError('invalid', `invalid etag value: ${etag}`);
      if (!cur || String(cur.version) !== etag) throw new ETagError('mismatch');
    } else if (firstWrite && cur) {
      throw new ETagError('mismatch');
    }
  }

  private live(key: string): Entry | undefined {
    const e = this.items.get(key);
    if (e?.expireAt !== undefined && e.expireAt <= Date.now()) {
      this.items.delete(key);
      return undefined;
    }
    return e;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, e] of this.items) if (e.expireAt !== undefined && e.expireAt <= now) this.items.delete(k);
  }
}
