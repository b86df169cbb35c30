// The configuration building block, written once. The Dapr faces read the default (group, label)
// namespace; the Layotto face adds group/label/tags and writes. The core owns subscription ids so
// any face can stop a subscription (UnsubscribeConfiguration, a closed stream) and the face that
// opened it hears about the end (onEnd) to close its stream.
import { errMessage, RuntimeError } from '../errors/runtime-error';
import {
  type ConfigurationItem,
  type ConfigurationStore,
  DEFAULT_GROUP,
  DEFAULT_LABEL,
} from '../components/configuration/types';
import type { CoreContext } from './context';
import type { AppConnection } from './metadata';

export type { ConfigurationItem } from '../components/configuration/types';

export interface ConfigurationQuery {
  storeName: string;
  keys: string[];
  metadata: Record<string, string>;
  /** Layotto only; blank = the default. */
  group?: string;
  label?: string;
}

export interface ConfigurationSaveItem {
  key: string;
  /** Empty content deletes the item (Layotto). */
  value: string;
  group?: string;
  label?: string;
  tags?: Record<string, string>;
  metadata?: Record<string, string>;
}

export interface LookupOptions {
  /**
   * Layotto's lookup: no "not configured" check (an unknown store is reported the same either way)
   * and component errors reported bare rather than wrapped in daprd's message.
   */
  bare?: boolean;
}

export interface SubscriptionCallbacks {
  onUpdate(items: ConfigurationItem[], id: string): void | Promise<void>;
  /** The subscription ended without the subscriber asking: unsubscribed elsewhere or the store failed. */
  onEnd?(error?: RuntimeError): void;
}

interface Live {
  storeName: string;
  store: ConfigurationStore;
  onEnd?: (error?: RuntimeError) => void;
}

/** Go's %s of a []string, as daprd's messages print the keys. */
const goList = (keys: string[]) => `[${keys.join(' ')}]`;
/** Layotto trims spaces and falls back to the store's default group/label. */
const orDefault = (v: string | undefined, d: string) => (v && v.replace(/ /g, '') !== '' ? v : d);

export class ConfigurationCore {
  private readonly live = new Map<string, Live>();

  constructor(
    private readonly ctx: CoreContext,
    private readonly app: AppConnection,
  ) {}

  async get(q: ConfigurationQuery, opts: LookupOptions = {}): Promise<ConfigurationItem[]> {
    const store = this.store(q.storeName, opts);
    try {
      return await store.get({ keys: q.keys, metadata: q.metadata, ...this.namespace(q) });
    } catch (e) {
      throw this.failure(opts, 'CONFIGURATION_GET', goList(q.keys), q.storeName, errMessage(e));
    }
  }

  /** Returns the subscription id once the store is listening. */
  async subscribe(q: ConfigurationQuery, cb: SubscriptionCallbacks, opts: LookupOptions = {}): Promise<string> {
    const store = this.store(q.storeName, opts);
    let id = '';
    const onError = (e: Error) => {
      const l = this.live.get(id);
      this.live.delete(id);
      l?.onEnd?.(this.failure(opts, 'CONFIGURATION_SUBSCRIBE', goList(q.keys), q.storeName, e.message));
    };
    try {
      id = await store.subscribe(
        { keys: q.keys, metadata: q.metadata, ...this.namespace(q) },
        (u) => (this.live.has(u.id) ? cb.onUpdate(u.items, u.id) : undefined),
        onError,
      );
    } catch (e) {
      throw this.failure(opts, 'CONFIGURATION_SUBSCRIBE', goList(q.keys), q.storeName, errMessage(e));
    }
    this.live.set(id, { storeName: q.storeName, store, onEnd: cb.onEnd });
    return id;
  }

  /** Stops a subscription by id; `onEnd` of its subscriber fires (a stream then ends cleanly). */
  async unsubscribe(storeName: string, id: string): Promise<void> {
    const store = this.store(storeName, {});
    const l = this.live.get(id);
    this.live.delete(id);
    try {
      await (l?.store ?? store).unsubscribe(id);
    } catch (e) {
      throw new RuntimeError('CONFIGURATION_UNSUBSCRIBE', id, errMessage(e));
    }
    l?.onEnd?.();
  }

  /** Stops a subscription whose subscriber went away (closed stream): no onEnd, errors ignored. */
  async release(id: string): Promise<void> {
    const l = this.live.get(id);
    if (!l) return;
    this.live.delete(id);
    await l.store.unsubscribe(id).catch(() => undefined);
  }

  /** Layotto SaveConfiguration: upserts; an item with empty content is deleted instead. */
  async save(storeName: string, items: ConfigurationSaveItem[], metadata: Record<string, string>): Promise<void> {
    const store = this.store(storeName, { bare: true });
    if (!store.save || !store.delete) throw new RuntimeError('CONFIGURATION_STORE', `configure store [${storeName}] doesn't support save`);
    try {
      const writes = items.map((it) => ({
        key: it.key,
        value: it.value,
        ...this.namespace(it),
        tags: it.tags ?? {},
        metadata: it.metadata ?? {},
      }));
      const upserts = writes.filter((w) => w.value !== '');
      if (upserts.length > 0) await store.save({ items: upserts, metadata });
      for (const w of writes.filter((x) => x.value === '')) {
        await store.delete({ keys: [w.key], group: w.group, label: w.label, metadata });
      }
    } catch (e) {
      throw new RuntimeError('CONFIGURATION_STORE', errMessage(e));
    }
  }

  /** Layotto DeleteConfiguration. */
  async delete(q: ConfigurationQuery): Promise<void> {
    const store = this.store(q.storeName, { bare: true });
    if (!store.delete) throw new RuntimeError('CONFIGURATION_STORE', `configure store [${q.storeName}] doesn't support delete`);
    try {
      await store.delete({ keys: q.keys, metadata: q.metadata, ...this.namespace(q) });
    } catch (e) {
      throw new RuntimeError('CONFIGURATION_STORE', errMessage(e));
    }
  }

  /** Where HTTP subscriptions are delivered (`--app-port`), or undefined without an app channel. */
  appChannel(): { address: string; port: number } | undefined {
    return this.app.port ? { address: this.app.channelAddress || '127.0.0.1', port: this.app.port } : undefined;
  }

  /** Validates the store for an HTTP subscription before subscribing, as daprd does. */
  requireStore(storeName: string): void {
    this.store(storeName, {});
  }

  private namespace(q: { group?: string; label?: string }): { group: string; label: string } {
    return { group: orDefault(q.group, DEFAULT_GROUP), label: orDefault(q.label, DEFAULT_LABEL) };
  }

  private store(storeName: string, opts: LookupOptions): ConfigurationStore {
    if (!opts.bare && this.ctx.components.count('configuration') === 0) throw new RuntimeError('CONFIGURATION_STORE_NOT_CONFIGURED');
    const live = this.ctx.components.get('configuration', storeName);
    if (!live) throw new RuntimeError('CONFIGURATION_STORE_NOT_FOUND', storeName);
    return live.instance;
  }

  private failure(opts: LookupOptions, kind: 'CONFIGURATION_GET' | 'CONFIGURATION_SUBSCRIBE', keys: string, store: string, msg: string): RuntimeError {
    return opts.bare ? new RuntimeError('CONFIGURATION_STORE', msg) : new RuntimeError(kind, keys, store, msg);
  }
}
