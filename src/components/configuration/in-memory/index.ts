// configuration.in-memory: items per (group, label, key) in process memory, a version counter per
// item, subscribers notified synchronously after each write. The embedded default store.
import { DEFAULT_GROUP, DEFAULT_LABEL } from '../types';
import type {
  ConfigurationGetRequest,
  ConfigurationHandler,
  ConfigurationItem,
  ConfigurationStore,
  ConfigurationSubscribeRequest,
  ConfigurationWriteItem,
} from '../types';
import { Subscriptions } from '../subscriptions';

const ns = (group: string, label: string) => `${group}\u0000${label}`;

export class InMemoryConfigurationStore implements ConfigurationStore {
  /** namespace -> key -> item */
  private readonly data = new Map<string, Map<string, ConfigurationItem>>();
  private readonly subs = new Subscriptions();
  private version = 0;

  async init(): Promise<void> {}

  features(): readonly string[] {
    return [];
  }

  async get(req: ConfigurationGetRequest): Promise<ConfigurationItem[]> {
    const m = this.data.get(ns(req.group ?? DEFAULT_GROUP, req.label ?? DEFAULT_LABEL));
    if (!m) return [];
    const keys = req.keys.length > 0 ? req.keys : [...m.keys()];
    return keys.flatMap((k) => {
      const it = m.get(k);
      return it ? [copy(it)] : [];
    });
  }

  async subscribe(req: ConfigurationSubscribeRequest, handler: ConfigurationHandler, onError?: (e: Error) => void): Promise<string> {
    return this.subs.add({ keys: new Set(req.keys), group: req.group ?? DEFAULT_GROUP, label: req.label ?? DEFAULT_LABEL, handler, onError }).id;
  }

  async unsubscribe(id: string): Promise<void> {
    this.subs.remove(id);
  }

  async save(req: { items: ConfigurationWriteItem[] }): Promise<void> {
    for (const it of req.items) {
      let m = this.data.get(ns(it.group, it.label));
      if (!m) this.data.set(ns(it.group, it.label), (m = new Map()));
      const item: ConfigurationItem = {
        key: it.key,
        value: it.value,
        version: String(++this.version),
        metadata: { ...it.metadata },
        group: it.group,
        label: it.label,
        tags: { ...it.tags },
      };
      m.set(it.key, item);
      this.subs.notify([copy(item)], it.group, it.label);
    }
  }

  async delete(req: { keys: string[]; group: string; label: string }): Promise<void> {
    const m = this.data.get(ns(req.group, req.label));
    const gone = req.keys.filter((k) => m?.delete(k));
    if (gone.length === 0) return;
    const items = gone.map((key) => ({ key, value: '', version: '', metadata: {}, group: req.group, label: req.label, tags: {} }));
    this.subs.notify(items, req.group, req.label);
  }

  async close(): Promise<void> {
    this.subs.fail('configuration store closed');
  }
}

const copy = (it: ConfigurationItem): ConfigurationItem => ({ ...it, metadata: { ...it.metadata }, tags: it.tags && { ...it.tags } });
