// configuration.postgresql (alias postgres), contrib's model: items are rows of the user's `table`
// (key, value, version, metadata json); Get reads them; Subscribe LISTENs on the channel named by
// the request metadata `pgNotifyChannel` and expects the user's trigger to NOTIFY a JSON payload
// whose `data` holds the row. Keys must match contrib's allowed characters. Read-only (no Layotto writes).
import { Client, Pool } from 'pg';
import { z } from 'zod';
import { connectionConfig } from '../../state/postgresql/dsn';
import { parseMetadata } from '../../metadata';
import { ComponentConfigError, type ComponentMetadata } from '../../types';
import { deliver, Subscriptions } from '../subscriptions';
import { DEFAULT_GROUP, DEFAULT_LABEL, type ConfigurationGetRequest, type ConfigurationHandler, type ConfigurationItem, type ConfigurationStore, type ConfigurationSubscribeRequest } from '../types';

const IDENT = /^[a-zA-Z0-9_.]*$/;
const schema = z.object({
  connectionString: z.string({ error: 'missing postgreSQL connection string' }).min(1, 'missing postgreSQL connection string'),
  table: z.string({ error: 'missing postgreSQL configuration table name' }).min(1, 'missing postgreSQL configuration table name'),
});

export class PostgresConfigurationStore implements ConfigurationStore {
  private pool?: Pool;
  private table = '';
  private connStr = '';
  private readonly subs = new Subscriptions();
  /** One LISTEN connection per notify channel, with the subscription ids using it. */
  private readonly listeners = new Map<string, { client: Promise<Client>; ids: Set<string> }>();
  private readonly channelOf = new Map<string, string>();

  async init(md: ComponentMetadata): Promise<void> {
    const m = parseMetadata(schema, md.properties);
    if (!IDENT.test(m.table) || m.table.length > 63) throw new ComponentConfigError(`invalid table name : '${m.table}'. non-alphanumerics are not supported`, 'table');
    this.table = m.table;
    this.connStr = m.connectionString;
    const pool = new Pool(connectionConfig(m.connectionString));
    pool.on('error', () => undefined);
    try {
      const r = await pool.query('SELECT EXISTS (SELECT FROM pg_tables WHERE tablename = $1) AS e', [m.table.toLowerCase()]);
      if (!r.rows[0]?.e) throw new ComponentConfigError(`postgreSQL configuration table - '${m.table}' does not exist`, 'table');
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw e;
    }
    this.pool = pool;
  }

  features(): readonly string[] {
    return [];
  }

  async ping(): Promise<void> {
    await this.db().query('SELECT 1');
  }

  async get(req: ConfigurationGetRequest): Promise<ConfigurationItem[]> {
    for (const k of req.keys) if (!IDENT.test(k)) throw new Error(`invalid key : '${k}'`);
    const pool = this.db();
    const sql = `SELECT key, value, version, metadata FROM ${this.table}` + (req.keys.length > 0 ? ` WHERE key = ANY($1::text[])` : '');
    const r = await pool.query(sql, req.keys.length > 0 ? [req.keys] : []);
    return r.rows.map((row: { key: string; value: string | null; version: string | null; metadata: unknown }) => ({
      key: row.key,
      value: row.value ?? '',
      version: row.version ?? '',
      metadata: stringMap(row.metadata),
    }));
  }

  async subscribe(req: ConfigurationSubscribeRequest, handler: ConfigurationHandler, onError?: (e: Error) => void): Promise<string> {
    if ((req.group ?? DEFAULT_GROUP) !== DEFAULT_GROUP || (req.label ?? DEFAULT_LABEL) !== DEFAULT_LABEL) throw new Error('configuration.postgresql supports only the default group and label');
    const channel = Object.entries(req.metadata).find(([k]) => k.toLowerCase() === 'pgnotifychannel')?.[1] ?? '';
    if (!channel) throw new Error(`unable to subscribe to '${this.table}'.pgNotifyChannel attribute cannot be empty`);
    this.db();
    let l = this.listeners.get(channel);
    if (!l) {
      l = { client: this.listen(channel), ids: new Set() };
      this.listeners.set(channel, l);
      l.client.catch(() => this.listeners.delete(channel));
    }
    await l.client;
    const s = this.subs.add({ keys: new Set(req.keys), group: DEFAULT_GROUP, label: DEFAULT_LABEL, handler, onError });
    l.ids.add(s.id);
    this.channelOf.set(s.id, channel);
    return s.id;
  }

  async unsubscribe(id: string): Promise<void> {
    this.subs.remove(id);
    const channel = this.channelOf.get(id)!;
    this.channelOf.delete(id);
    const l = this.listeners.get(channel);
    if (!l) return;
    l.ids.delete(id);
    if (l.ids.size > 0) return;
    this.listeners.delete(channel);
    await (await l.client).end().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.subs.fail('configuration store closed');
    for (const l of this.listeners.values()) await (await l.client.catch(() => undefined))?.end().catch(() => undefined);
    this.listeners.clear();
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end().catch(() => undefined);
  }

  private async listen(channel: string): Promise<Client> {
    const client = new Client(connectionConfig(this.connStr));
    client.on('error', () => undefined);
    client.on('end', () => {
      const l = this.listeners.get(channel);
      if (!l) return;
      this.listeners.delete(channel);
      for (const id of l.ids) this.subs.all().find((s) => s.id === id)?.onError?.(new Error('lost the postgreSQL connection for configuration updates'));
    });
    client.on('notification', (n) => {
      if (n.channel !== channel || !n.payload) return;
      const item = itemOf(n.payload);
      if (!item) return;
      const ids = this.listeners.get(channel)?.ids;
      for (const s of this.subs.all()) if (ids?.has(s.id) && (s.keys.size === 0 || s.keys.has(item.key))) deliver(s, [item]);
    });
    await client.connect();
    await client.query(`LISTEN "${channel.replace(/"/g, '""')}"`);
    return client;
  }

  private db(): Pool {
    if (!this.pool) throw new Error('postgresql configuration store is not initialized');
    return this.pool;
  }
}

/** The trigger's payload: `{..., "data": {key, value, version, metadata}}`; anything else is ignored. */
function itemOf(payload: string): ConfigurationItem | undefined {
  let p: unknown;
  try {
    p = JSON.parse(payload);
  } catch {
    return undefined;
  }
  const data = (p as { data?: unknown })?.data;
  if (!data || typeof data !== 'object') return undefined;
  const row = Object.fromEntries(Object.entries(data).map(([k, v]) => [k.toLowerCase(), v]));
  if (typeof row.key !== 'string') return undefined;
  return { key: row.key, value: String(row.value ?? ''), version: String(row.version ?? ''), metadata: stringMap(row.metadata) };
}

function stringMap(v: unknown): Record<string, string> {
  if (!v || typeof v !== 'object') return {};
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)]));
}
