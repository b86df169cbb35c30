// configuration.redis, in contrib's format so daprd and this sidecar can share a store: each item is
// a plain string key holding `value||version`. Changes arrive as keyspace notifications
// (`__keyspace@<db>__:<key>`, enabled with CONFIG SET notify-keyspace-events Kg$xe, as daprd does)
// on a second, subscriber-mode connection shared by every subscription; a deleted/expired key is
// delivered as an item with an empty value. Layotto writes bump the version with a Lua script.
import type { Redis } from 'ioredis';
import { connectRedis, parseRedisMetadata, pingRedis, type RedisConfig } from '../../common/redis';
import type { ComponentMetadata } from '../../types';
import { deliver, Subscriptions } from '../subscriptions';
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

const SEPARATOR = '||';
const GONE_EVENTS = new Set(['del', 'expired', 'evicted']);
/** SET key "<value>||<previous version + 1>"; returns the new version. */
const SAVE = `local old = redis.call('GET', KEYS[1])
local ver = 0
if type(old) == 'string' then
  local i = string.find(old, '||', 1, true)
  if i then ver = tonumber(string.match(string.sub(old, i + 2), '^%d+')) or 0 end
end
ver = ver + 1
redis.call('SET', KEYS[1], ARGV[1] .. '||' .. ver)
return ver`;

/** contrib's reading: the text before the first `||` is the value, the next part the version. */
export function parseValue(raw: string): { value: string; version: string } {
  const parts = raw.split(SEPARATOR);
  return { value: parts[0] ?? '', version: parts[1] ?? '' };
}

export class RedisConfigurationStore implements ConfigurationStore {
  private client?: Redis;
  private subscriber?: Promise<Redis>;
  private cfg?: RedisConfig;
  private readonly subs = new Subscriptions();
  /** Channel (or pattern) -> number of subscriptions using it. */
  private readonly channels = new Map<string, number>();
  private events: Promise<void> = Promise.resolve();

  async init(md: ComponentMetadata): Promise<void> {
    this.cfg = parseRedisMetadata(md.properties);
    this.client = await connectRedis(this.cfg, 'redis configuration store');
  }

  features(): readonly string[] {
    return [];
  }

  ping(): Promise<void> {
    return pingRedis(this.redis());
  }

  async get(req: ConfigurationGetRequest): Promise<ConfigurationItem[]> {
    this.defaultNamespaceOnly(req.group, req.label);
    const redis = this.redis();
    const keys = req.keys.length > 0 ? req.keys : await redis.keys('*');
    if (keys.length === 0) return [];
    // MGET answers nil for keys of another type (hashes of a state store sharing the db): skipped, as contrib does.
    const values = await redis.mget(...keys);
    const items: ConfigurationItem[] = [];
    keys.forEach((key, i) => {
      const raw = values[i];
      if (raw == null) return;
      const { value, version } = parseValue(raw);
      if (value !== '') items.push({ key, value, version, metadata: {} });
    });
    return items;
  }

  async subscribe(req: ConfigurationSubscribeRequest, handler: ConfigurationHandler, onError?: (e: Error) => void): Promise<string> {
    this.defaultNamespaceOnly(req.group, req.label);
    const sub = await this.ensureSubscriber();
    const s = this.subs.add({ keys: new Set(req.keys), group: DEFAULT_GROUP, label: DEFAULT_LABEL, handler, onError });
    try {
      for (const ch of this.channelsOf(s.keys)) {
        const n = this.channels.get(ch) ?? 0;
        this.channels.set(ch, n + 1);
        if (n === 0) await (ch.endsWith('*') ? sub.psubscribe(ch) : sub.subscribe(ch));
      }
    } catch (e) {
      await this.unsubscribe(s.id).catch(() => undefined);
      throw e;
    }
    return s.id;
  }

  async unsubscribe(id: string): Promise<void> {
    const s = this.subs.remove(id);
    const sub = this.subscriber && (await this.subscriber.catch(() => undefined));
    for (const ch of this.channelsOf(s.keys)) {
      const n = (this.channels.get(ch) ?? 1) - 1;
      if (n > 0) {
        this.channels.set(ch, n);
        continue;
      }
      this.channels.delete(ch);
      if (sub) await (ch.endsWith('*') ? sub.punsubscribe(ch) : sub.unsubscribe(ch)).catch(() => undefined);
    }
  }

  async save(req: { items: ConfigurationWriteItem[] }): Promise<void> {
    for (const it of req.items) {
      this.defaultNamespaceOnly(it.group, it.label);
      if (it.value.includes(SEPARATOR)) throw new Error(`configuration value of key ${it.key} can't contain '${SEPARATOR}'`);
    }
    const redis = this.redis();
    for (const it of req.items) await redis.eval(SAVE, 1, it.key, it.value);
  }

  async delete(req: { keys: string[]; group: string; label: string }): Promise<void> {
    this.defaultNamespaceOnly(req.group, req.label);
    if (req.keys.length > 0) await this.redis().del(...req.keys);
  }

  async close(): Promise<void> {
    this.subs.fail('configuration store closed');
    this.channels.clear();
    const sub = this.subscriber;
    this.subscriber = undefined;
    const clients = [this.client, sub && (await sub.catch(() => undefined))];
    this.client = undefined;
    for (const c of clients) {
      if (!c) continue;
      try {
        await c.quit();
      } catch {
        c.disconnect();
      }
    }
  }

  private prefix(): string {
    return `__keyspace@${this.cfg?.redisDB ?? 0}__:`;
  }

  private channelsOf(keys: ReadonlySet<string>): string[] {
    return keys.size === 0 ? [`${this.prefix()}*`] : [...keys].map((k) => this.prefix() + k);
  }

  private ensureSubscriber(): Promise<Redis> {
    if (!this.subscriber) {
      const redis = this.redis();
      this.subscriber = (async () => {
        // Like contrib, a server refusing CONFIG (managed Redis) is not an error: it may be preset.
        await redis.config('SET', 'notify-keyspace-events', 'Kg$xe').catch(() => undefined);
        const sub = await connectRedis(this.cfg!, 'redis configuration subscriber');
        sub.on('message', (channel: string, event: string) => this.enqueue(channel, event, false));
        sub.on('pmessage', (_p: string, channel: string, event: string) => this.enqueue(channel, event, true));
        // 'end' = ioredis gave up reconnecting: no more notifications will come.
        sub.on('end', () => {
          if (this.subscriber) this.subs.fail('lost the connection to redis for configuration updates');
          this.subscriber = undefined;
          this.channels.clear();
        });
        return sub;
      })();
      this.subscriber.catch(() => (this.subscriber = undefined));
    }
    return this.subscriber;
  }

  /** Events are handled one at a time so updates reach subscribers in the order Redis sent them. */
  private enqueue(channel: string, event: string, viaPattern: boolean): void {
    this.events = this.events.then(() => this.onEvent(channel, event, viaPattern)).catch(() => undefined);
  }

  /** One event per channel: a key's own channel serves key-list subscriptions, the pattern all-keys ones. */
  private async onEvent(channel: string, event: string, viaPattern: boolean): Promise<void> {
    const prefix = this.prefix();
    if (!channel.startsWith(prefix)) return;
    const key = channel.slice(prefix.length);
    let items: ConfigurationItem[];
    if (GONE_EVENTS.has(event)) {
      items = [{ key, value: '', version: '', metadata: {} }];
    } else {
      try {
        items = await this.get({ keys: [key], metadata: {} });
      } catch {
        return; // the key vanished or changed type meanwhile; the next event carries the news
      }
      if (items.length === 0) return;
    }
    for (const s of this.subs.all()) if (viaPattern ? s.keys.size === 0 : s.keys.has(key)) deliver(s, items);
  }

  private defaultNamespaceOnly(group = DEFAULT_GROUP, label = DEFAULT_LABEL): void {
    if (group !== DEFAULT_GROUP || label !== DEFAULT_LABEL) {
      throw new Error(`configuration.redis supports only group "${DEFAULT_GROUP}" and label "${DEFAULT_LABEL}"`);
    }
  }

  private redis(): Redis {
    if (!this.client) throw new Error('redis configuration store is not initialized');
    return this.client;
  }
}
