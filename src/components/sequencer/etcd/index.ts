// sequencer.etcd, Layotto's layout: the counter of a key is the etcd key keyPrefixPath (default
// "/layotto/") + the core's `sequencer|||<prefix>||<key>`, and an id is that key's Version right
// after a put, read in the same txn, so every put hands out exactly one id, in etcd's commit order,
// across any number of sidecars. No segments (as Layotto), so WEAK requests go to etcd too.
//
// biggerThan: a Version only grows one put at a time, so raising a counter stores an offset as the
// key's value (Layotto keeps it empty, which reads as 0) and ids are Version + offset. Each put
// rewrites the offset it read and is conditional on it, so a concurrent raise makes it retry
// instead of handing out an id from the old base. Layotto itself only checks biggerThan and fails.
import type { Etcd3, IKeyValue } from 'etcd3';
import { closeEtcd, connectEtcd, parseEtcdMetadata, pingEtcd } from '../../common/etcd';
import type { ComponentMetadata } from '../../types';
import { applyBiggerThan, commonInit } from '../metadata';
import type { GetNextIdRequest, SequencerStore } from '../types';

/** Conflicts only come from a concurrent biggerThan raise or a deleted key; this bounds a runaway loop. */
const MAX_ATTEMPTS = 100;
/** Cached offsets are only a hint (a stale one costs a retry), so the cache is simply reset when big. */
const MAX_CACHED = 10_000;

export class EtcdSequencer implements SequencerStore {
  private client?: Etcd3;
  private prefix = '';
  /** etcd key -> its value as last seen: the offset a put keeps (undefined: not seen, maybe absent). */
  private readonly offsets = new Map<string, string>();

  async init(md: ComponentMetadata): Promise<void> {
    const biggerThan = commonInit(md);
    const cfg = parseEtcdMetadata(md.properties);
    this.client = await connectEtcd(cfg, 'etcd sequencer');
    this.prefix = cfg.keyPrefix;
    await applyBiggerThan('etcd sequencer', biggerThan, (key, n) => this.raise(this.prefix + key, n), () => this.close());
  }

  features(): readonly string[] {
    return [];
  }

  ping(): Promise<void> {
    return pingEtcd(this.etcd());
  }

  async getNextId(req: GetNextIdRequest): Promise<bigint> {
    const etcd = this.etcd();
    const key = this.prefix + req.key;
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const seen = this.offsets.get(key);
      // An unseen key is created as Layotto does; a known one is bumped only if its offset is unchanged.
      const cond = seen === undefined ? etcd.if(key, 'Create', '==', 0) : etcd.if(key, 'Value', '==', seen);
      const res = await cond
        .then(etcd.put(key).value(seen ?? ''), etcd.get(key))
        .else(etcd.get(key))
        .commit();
      const kv = res.responses[res.succeeded ? 1 : 0]?.response_range.kvs[0];
      if (res.succeeded && kv) return BigInt(kv.version) + offsetOf(kv);
      this.remember(key, kv);
    }
    throw new Error(`etcd sequencer: key ${key} kept changing under ${MAX_ATTEMPTS} attempts`);
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    this.offsets.clear();
    closeEtcd(c);
  }

  /** Makes the next id of `key` at least n + 1; never lowers it. */
  private async raise(key: string, n: bigint): Promise<void> {
    if (n <= 0n) return;
    const etcd = this.etcd();
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const kv = (await etcd.get(key).exec()).kvs[0];
      const version = kv ? BigInt(kv.version) : 0n;
      if (kv && version + offsetOf(kv) >= n) return this.remember(key, kv);
      // After this put the key's Version is version + 1 and the last id handed out reads as n.
      const offset = String(n - version - 1n);
      const cond = kv ? etcd.if(key, 'Mod', '==', kv.mod_revision) : etcd.if(key, 'Create', '==', 0);
      if ((await cond.then(etcd.put(key).value(offset)).commit()).succeeded) return void this.offsets.set(key, offset);
    }
    throw new Error(`key ${key} kept changing under ${MAX_ATTEMPTS} attempts`);
  }

  private remember(key: string, kv: IKeyValue | undefined): void {
    if (!kv) {
      this.offsets.delete(key);
      return;
    }
    if (this.offsets.size >= MAX_CACHED) this.offsets.clear();
    this.offsets.set(key, kv.value.toString());
  }

  private etcd(): Etcd3 {
    if (!this.client) throw new Error('etcd sequencer is not initialized');
    return this.client;
  }
}

/** The stored offset: empty (Layotto's value) is 0. */
function offsetOf(kv: IKeyValue): bigint {
  const v = kv.value.toString();
  if (v === '') return 0n;
  if (!/^\d+$/.test(v)) throw new Error(`etcd sequencer: key ${kv.key.toString()} holds "${v}", not a sequencer offset`);
  return BigInt(v);
}
