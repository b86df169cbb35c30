// nameresolution.sqlite: one SQLite file shared by the sidecars of one host (contrib's
// nameresolution/sqlite, same table layout, so a daprd using the same file finds us and we find it).
// Each sidecar registers a row {registration_id, address, app_id, namespace, last_update} at init,
// refreshes last_update in the background and deletes the row at close; a row not refreshed within
// updateInterval is dead. Resolve round-robins over the live rows of an app id.
// Beyond contrib: a nullable `pid` column (added when missing), so a row whose same-host process is
// gone (SIGKILL, crash) is skipped and removed at once instead of after updateInterval.
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import type { ResolvedAddress } from '../../../core/invoke/types';
import { durationMs, parseMetadata } from '../../metadata';
import { joinHostPort, RoundRobin, splitHostPort } from '../address';
import { NoAddressError, type NameResolver, type ResolveRequest, type ResolverMetadata, stringConfig } from '../types';

/** Where sidecars of one user meet when the configuration names no file (daprd's ~/.dapr layout). */
export const defaultRegistryPath = (): string => join(homedir(), '.dapr', 'nr.db');

const IDENTIFIER = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const identifier = (what: string) => z.string().regex(IDENTIFIER, `invalid identifier for ${what}`);

const schema = z.object({
  connectionString: z.string().optional(),
  tableName: identifier('table name').default('hosts'),
  metadataTableName: identifier('metadata table name').default('metadata'),
  updateInterval: durationMs().default(5000),
  cleanupInterval: durationMs().default(3_600_000),
  cleanupIntervalInSeconds: durationMs().optional(),
  timeout: durationMs().default(1000),
  busyTimeout: durationMs().default(800),
});

/** "file:/x/nr.db?_pragma=..." → "/x/nr.db" (contrib accepts both spellings); ":memory:" stays. */
export function registryPath(connectionString: string | undefined): string {
  if (!connectionString) return defaultRegistryPath();
  let p = connectionString.trim();
  if (p.startsWith('file:')) p = p.slice('file:'.length);
  const q = p.indexOf('?');
  if (q >= 0) p = p.slice(0, q);
  return p === '' ? ':memory:' : p;
}

/** All readers of the file are on this host: loopback reaches a server bound to every interface. */
function sameHostAddress(listen: string | undefined): string {
  if (!listen || listen === '0.0.0.0') return '127.0.0.1';
  return listen === '::' ? '::1' : listen;
}

/** How long a read of the registry answers resolves; a sidecar that started within it is found after it. */
const CACHE_MS = 1000;

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

/** False only when the process is certainly gone (a pid from another user is alive: EPERM). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

interface HostRow {
  registration_id: string;
  address: string;
  pid: number | null;
}

export class SqliteResolver implements NameResolver {
  private db?: Database;
  private lookup?: ReturnType<Database['prepare']>;
  private registrationId?: string;
  private address?: string;
  private appId = '';
  private namespace = '';
  private table = 'hosts';
  private updateSeconds = 5;
  private timers: NodeJS.Timeout[] = [];
  private readonly turn = new RoundRobin();
  /**
   * Live rows by namespace/app id, kept while the file is unchanged (PRAGMA data_version: another
   * sidecar registered, renewed or left) and at most CACHE_MS (rows also expire by age alone).
   * Querying the table on every call was ~5% of one.
   */
  private readonly cache = new Map<string, { rows: HostRow[]; until: number; version: number }>();
  private dataVersion?: ReturnType<Database['prepare']>;
  /** The file in use (for logs and tests). */
  path = '';

  async init(md: ResolverMetadata): Promise<void> {
    const cfg = parseMetadata(schema, stringConfig(md.configuration, 'sqlite'));
    if (cfg.updateInterval % 1000 !== 0) throw new Error('nameResolution sqlite: update interval must not contain fractions of seconds');
    if (cfg.updateInterval - cfg.timeout < 1000) throw new Error('nameResolution sqlite: update interval must be at least 1s greater than timeout');
    this.table = cfg.tableName;
    this.updateSeconds = cfg.updateInterval / 1000;
    this.path = registryPath(cfg.connectionString);
    if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
    const db = new Database(this.path, { timeout: cfg.busyTimeout });
    this.db = db;
    try {
      if (this.path !== ':memory:') db.pragma('journal_mode = WAL');
      this.migrate(cfg.metadataTableName);
      this.collectGarbage();
      const { instance } = md;
      if (instance.appId && instance.daprInternalPort > 0) {
        this.appId = instance.appId;
        this.namespace = instance.namespace;
        this.address = joinHostPort(sameHostAddress(instance.listenAddress), instance.daprInternalPort);
        this.register();
        // Refresh at half the interval: last_update has whole-second precision.
        this.timers.push(setInterval(() => this.renew(), cfg.updateInterval / 2).unref());
      }
      this.timers.push(setInterval(() => this.collectGarbage(), cfg.cleanupIntervalInSeconds ?? cfg.cleanupInterval).unref());
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  async resolve(req: ResolveRequest): Promise<ResolvedAddress> {
    const key = `${req.namespace}/${req.id}`;
    const now = Date.now();
    const db = this.db;
    if (!db) throw new Error('name resolver sqlite is not initialized');
    const version = (this.dataVersion ??= db.prepare('PRAGMA data_version').pluck()).get() as number;
    let hit = this.cache.get(key);
    if (!hit || hit.until <= now || hit.version !== version) {
      hit = { rows: this.liveRows(db, req), until: now + CACHE_MS, version };
      // "Not found" is never cached: an app starting now is found by the next call.
      if (hit.rows.length === 0) throw new NoAddressError('no host found with the given ID');
      this.cache.set(key, hit);
    }
    return splitHostPort(this.turn.pick(key, hit.rows).address);
  }

  /** An address that refused a connection: read the file again on the next resolve. */
  evict(req: ResolveRequest): void {
    this.cache.delete(`${req.namespace}/${req.id}`);
  }

  private liveRows(db: Database, req: ResolveRequest): HostRow[] {
    // Compiled once: resolve runs on every invocation (preparing it each time was ~6% of a call).
    this.lookup ??= db.prepare(
      `SELECT registration_id, address, pid FROM ${this.table}
       WHERE app_id = ? AND namespace = ? AND unixepoch(CURRENT_TIMESTAMP) - last_update < ?
       ORDER BY registration_id`,
    );
    const rows = this.lookup.all(req.id, req.namespace, this.updateSeconds) as HostRow[];
    return rows.filter((r) => {
      if (r.pid === null || !isLoopback(splitHostPort(r.address).host) || processAlive(r.pid)) return true;
      db.prepare(`DELETE FROM ${this.table} WHERE registration_id = ?`).run(r.registration_id);
      return false;
    });
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    const db = this.db;
    this.db = undefined;
    this.lookup = undefined;
    this.dataVersion = undefined;
    this.cache.clear();
    if (!db) return;
    try {
      if (this.registrationId) db.prepare(`DELETE FROM ${this.table} WHERE registration_id = ?`).run(this.registrationId);
    } finally {
      this.registrationId = undefined;
      db.close();
    }
  }

  private migrate(metadataTable: string): void {
    const db = this.db!;
    db.transaction(() => {
      db.exec(`CREATE TABLE IF NOT EXISTS ${metadataTable} (key text NOT NULL PRIMARY KEY, value text NOT NULL)`);
      const level = db.prepare(`SELECT value FROM ${metadataTable} WHERE key = 'nr-migrations'`).get() as { value: string } | undefined;
      if (Number(level?.value ?? 0) < 1) {
        db.exec(`CREATE TABLE IF NOT EXISTS ${this.table} (
            registration_id TEXT NOT NULL PRIMARY KEY,
            address TEXT NOT NULL,
            app_id TEXT NOT NULL,
            namespace TEXT NOT NULL,
            last_update INTEGER NOT NULL
          );
          CREATE UNIQUE INDEX IF NOT EXISTS ${this.table}_address_idx ON ${this.table} (address);
          CREATE INDEX IF NOT EXISTS ${this.table}_last_update_idx ON ${this.table} (last_update);`);
        db.prepare(`REPLACE INTO ${metadataTable} (key, value) VALUES ('nr-migrations', '1')`).run();
      }
      const columns = db.prepare(`SELECT name FROM pragma_table_info('${this.table}')`).all() as { name: string }[];
      if (!columns.some((c) => c.name === 'pid')) db.exec(`ALTER TABLE ${this.table} ADD COLUMN pid INTEGER`);
    }).immediate();
  }

  private register(): void {
    this.registrationId = randomUUID();
    // The address is unique: a new registration takes over a dead one left on the same address.
    this.db!.prepare(
      `REPLACE INTO ${this.table} (registration_id, address, app_id, namespace, last_update, pid)
       VALUES (?, ?, ?, ?, unixepoch(CURRENT_TIMESTAMP), ?)`,
    ).run(this.registrationId, this.address, this.appId, this.namespace, process.pid);
  }

  private renew(): void {
    try {
      const r = this.db?.prepare(`UPDATE ${this.table} SET last_update = unixepoch(CURRENT_TIMESTAMP) WHERE registration_id = ?`).run(this.registrationId);
      // Removed by another sidecar's cleanup (this process stalled past the interval): register again.
      if (r && r.changes === 0) this.register();
    } catch {
      /* a busy or briefly unavailable file: the next tick tries again */
    }
  }

  private collectGarbage(): void {
    try {
      this.db?.prepare(`DELETE FROM ${this.table} WHERE unixepoch(CURRENT_TIMESTAMP) - last_update >= ?`).run(this.updateSeconds * 2);
    } catch {
      /* as above */
    }
  }
}
