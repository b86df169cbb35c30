// configuration.etcd, Layotto's layout (layotto.md §3.5): an item's content is the key
// `/{app_id}/{group}/{label}/{key}`, each tag an extra key `/{app_id}/{group}/{label}/{key}/{tag}`
// holding the tag's value; app_id is the sidecar's --app-id. Get reads the requested items (or the
// whole group/label) in one txn; Save writes content and tags in one txn, conditional on the content
// key's revision so two writers cannot mix their tag sets; Delete removes content and tags.
// Subscriptions share one etcd watch on `/{app_id}/`; each watch response is turned into the
// changed items as they were at that revision (deleted: empty value). A watch that stays
// disconnected longer than dialTimeout ends every subscription with an error.
import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import { closeEtcd, connectEtcd, parseEtcdMetadata, pingEtcd } from '../../common/etcd';
import type { ComponentMetadata } from '../../types';
import { Subscriptions } from '../subscriptions';
import {
  DEFAULT_GROUP,
  DEFAULT_LABEL,
  type ConfigurationGetRequest,
  type ConfigurationHandler,
  type ConfigurationItem,
  type ConfigurationStore,
  type ConfigurationSubscribeRequest,
  type ConfigurationWriteItem,
} from '../types';

/** etcd's default --max-txn-ops is 128 and each key takes two reads. */
const KEYS_PER_TXN = 64;
const SAVE_ATTEMPTS = 20;

/** A path segment: non-empty and without '/', or the layout could not be read back. */
function segment(what: string, v: string): string {
  if (v === '' || v.includes('/')) throw new Error(`configuration ${what} '${v}' must be non-empty and can't contain '/'`);
  return v;
}

export class EtcdConfigurationStore implements ConfigurationStore {
  private client?: Etcd3;
  private root = '/';
  private graceMs = 5000;
  private readonly subs = new Subscriptions();
  private watcher?: Promise<Watcher>;
  private grace?: NodeJS.Timeout;
  private events: Promise<void> = Promise.resolve();

  async init(md: ComponentMetadata): Promise<void> {
    const cfg = parseEtcdMetadata(md.properties);
    this.client = await connectEtcd(cfg, 'etcd configuration store');
    this.root = `/${md.appId}/`;
    this.graceMs = cfg.dialTimeout;
  }

  features(): readonly string[] {
    return [];
  }

  ping(): Promise<void> {
    return pingEtcd(this.etcd());
  }

  async get(req: ConfigurationGetRequest): Promise<ConfigurationItem[]> {
    const { group, label } = this.namespaceOf(req);
    const keys = req.keys.map((k) => segment('key', k));
    const items = itemsOf(await this.read(this.ns(group, label), keys), this.ns(group, label), group, label);
    return keys.length === 0 ? [...items.values()] : keys.flatMap((k) => items.get(k) ?? []);
  }

  async subscribe(req: ConfigurationSubscribeRequest, handler: ConfigurationHandler, onError?: (e: Error) => void): Promise<string> {
    const { group, label } = this.namespaceOf(req);
    const keys = new Set(req.keys.map((k) => segment('key', k)));
    await this.ensureWatcher();
    return this.subs.add({ keys, group, label, handler, onError }).id;
  }

  async unsubscribe(id: string): Promise<void> {
    this.subs.remove(id);
    if (this.subs.all().length === 0) await this.stopWatcher();
  }

  async save(req: { items: ConfigurationWriteItem[] }): Promise<void> {
    for (const it of req.items) {
      segment('group', it.group);
      segment('label', it.label);
      segment('key', it.key);
      for (const t of Object.keys(it.tags)) segment('tag', t);
    }
    for (const it of req.items) await this.saveOne(it);
  }

  async delete(req: { keys: string[]; group: string; label: string }): Promise<void> {
    const ns = this.ns(segment('group', req.group), segment('label', req.label));
    const keys = req.keys.map((k) => segment('key', k));
    const etcd = this.etcd();
    for (let i = 0; i < keys.length; i += KEYS_PER_TXN) {
      const ops = keys.slice(i, i + KEYS_PER_TXN).flatMap((k) => [etcd.delete().key(ns + k), etcd.delete().prefix(`${ns}${k}/`)]);
      await etcd.kv.txn({ success: await Promise.all(ops.map((o) => o.op())) });
    }
  }

  async close(): Promise<void> {
    this.subs.fail('configuration store closed');
    await this.stopWatcher();
    const c = this.client;
    this.client = undefined;
    closeEtcd(c);
  }

  /** Content and tags of one item, replacing its previous tags; retried while another writer races. */
  private async saveOne(it: ConfigurationWriteItem): Promise<void> {
    const etcd = this.etcd();
    const ns = this.ns(it.group, it.label);
    const base = ns + it.key;
    for (let i = 0; i < SAVE_ATTEMPTS; i++) {
      const kvs = await this.read(ns, [it.key]);
      const content = kvs.find((kv) => kv.key.toString() === base);
      const stale = kvs.map((kv) => kv.key.toString()).filter((k) => k !== base && !Object.hasOwn(it.tags, k.slice(base.length + 1)));
      const cond = content ? etcd.if(base, 'Mod', '==', content.mod_revision) : etcd.if(base, 'Create', '==', 0);
      const res = await cond
        .then(
          etcd.put(base).value(it.value),
          ...Object.entries(it.tags).map(([t, v]) => etcd.put(`${base}/${t}`).value(v)),
          ...stale.map((k) => etcd.delete().key(k)),
        )
        .commit();
      if (res.succeeded) return;
    }
    throw new Error(`configuration key ${it.key} kept changing under ${SAVE_ATTEMPTS} attempts`);
  }

  /** The content and tag keys of `keys` (all of the namespace when empty), optionally at a past revision. */
  private async read(ns: string, keys: string[], revision?: string): Promise<IKeyValue[]> {
    const etcd = this.etcd();
    if (keys.length === 0) {
      const all = etcd.getAll().prefix(ns);
      return (await (revision ? all.revision(revision) : all).exec()).kvs;
    }
    const out: IKeyValue[] = [];
    for (let i = 0; i < keys.length; i += KEYS_PER_TXN) {
      const ops = keys.slice(i, i + KEYS_PER_TXN).flatMap((k) => [etcd.get(ns + k), etcd.getAll().prefix(`${ns}${k}/`)]);
      if (revision) for (const o of ops) o.revision(revision);
      const res = await etcd.kv.txn({ success: await Promise.all(ops.map((o) => o.op())) });
      for (const r of res.responses) out.push(...r.response_range.kvs);
    }
    return out;
  }

  private ensureWatcher(): Promise<Watcher> {
    if (!this.watcher) {
      const etcd = this.etcd();
      const watcher = (async () => {
        // Not create(): a watch that never connects must still be cancelled, or etcd3 retries it forever.
        const w = etcd.watch().prefix(this.root).watcher();
        const connected = new Promise<void>((resolve, reject) => w.once('connected', () => resolve()).once('error', reject));
        try {
          await within(connected, this.graceMs, `etcd did not start a watch within ${this.graceMs} ms`);
        } catch (e) {
          await this.cancel(w);
          throw e;
        }
        w.on('data', (res: IWatchResponse) => this.enqueue(res));
        w.on('disconnected', (e: Error) => this.startGrace(e));
        w.on('connected', () => this.stopGrace());
        w.on('error', (e: Error) => this.lost(e));
        return w;
      })();
      this.watcher = watcher;
      watcher.catch(() => {
        if (this.watcher === watcher) this.watcher = undefined;
      });
    }
    return this.watcher;
  }

  private async stopWatcher(): Promise<void> {
    this.stopGrace();
    const w = this.watcher;
    this.watcher = undefined;
    const watcher = w && (await w.catch(() => undefined));
    if (watcher) await this.cancel(watcher);
  }

  private async cancel(w: Watcher): Promise<void> {
    w.removeAllListeners();
    w.on('error', () => undefined);
    // Cancelling waits for etcd's answer, which a dead server never sends.
    await within(w.cancel(), this.graceMs, 'watch cancel timed out').catch(() => undefined);
  }

  private startGrace(e: Error): void {
    if (this.grace || !this.watcher) return;
    this.grace = setTimeout(() => this.lost(e), this.graceMs);
    this.grace.unref();
  }

  private stopGrace(): void {
    clearTimeout(this.grace);
    this.grace = undefined;
  }

  /** The watch cannot be served any more: end every subscription; the next subscribe starts afresh. */
  private lost(e: Error): void {
    void this.stopWatcher();
    this.subs.fail(`lost the connection to etcd for configuration updates: ${e.message}`);
  }

  /** Responses are handled one at a time so updates reach subscribers in etcd's order. */
  private enqueue(res: IWatchResponse): void {
    this.events = this.events.then(() => this.onChanges(res)).catch(() => undefined);
  }

  /** Re-reads each changed item that someone watches as of the response's last event, then delivers it. */
  private async onChanges(res: IWatchResponse): Promise<void> {
    const changed = new Map<string, { group: string; label: string; keys: Set<string>; revision: string }>();
    for (const ev of res.events) {
      const parts = ev.kv.key.toString().slice(this.root.length).split('/');
      if (parts.length < 3) continue;
      const [group, label, key] = parts as [string, string, string];
      if (!this.subs.all().some((s) => s.group === group && s.label === label && (s.keys.size === 0 || s.keys.has(key)))) continue;
      const id = `${group}/${label}`;
      const c = changed.get(id) ?? { group, label, keys: new Set<string>(), revision: ev.kv.mod_revision };
      c.keys.add(key);
      if (BigInt(ev.kv.mod_revision) > BigInt(c.revision)) c.revision = ev.kv.mod_revision;
      changed.set(id, c);
    }
    for (const { group, label, keys, revision } of changed.values()) {
      const ns = this.ns(group, label);
      // A compacted revision can no longer be read: the current state is the next best answer.
      const kvs = await this.read(ns, [...keys], revision).catch(() => this.read(ns, [...keys]));
      const items = itemsOf(kvs, ns, group, label);
      const updates = [...keys].map((key) => items.get(key) ?? { key, value: '', version: '', metadata: {}, group, label, tags: {} });
      this.subs.notify(updates, group, label);
    }
  }

  private namespaceOf(req: { group?: string; label?: string }): { group: string; label: string } {
    return { group: segment('group', req.group ?? DEFAULT_GROUP), label: segment('label', req.label ?? DEFAULT_LABEL) };
  }

  private ns(group: string, label: string): string {
    return `${this.root}${group}/${label}/`;
  }

  private etcd(): Etcd3 {
    if (!this.client) throw new Error('etcd configuration store is not initialized');
    return this.client;
  }
}

function within<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Items by key from content and tag keys under `ns`; tags without content are not an item. */
function itemsOf(kvs: IKeyValue[], ns: string, group: string, label: string): Map<string, ConfigurationItem> {
  const contents = new Map<string, IKeyValue>();
  const tags = new Map<string, Record<string, string>>();
  for (const kv of kvs) {
    const rest = kv.key.toString().slice(ns.length);
    const slash = rest.indexOf('/');
    if (slash < 0) contents.set(rest, kv);
    else {
      const key = rest.slice(0, slash);
      tags.set(key, { ...tags.get(key), [rest.slice(slash + 1)]: kv.value.toString() });
    }
  }
  const items = new Map<string, ConfigurationItem>();
  for (const [key, kv] of contents) {
    items.set(key, { key, value: kv.value.toString(), version: kv.mod_revision, metadata: {}, group, label, tags: tags.get(key) ?? {} });
  }
  return items;
}
