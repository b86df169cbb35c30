// sequencer.mysql (MySQL / MariaDB): one row per key (value = last id handed out). MySQL has no
// RETURNING, so each id or segment is one upsert that stores the new value with LAST_INSERT_ID(expr):
// the server reports it in the statement's OK packet (insertId), for this connection only.
import type { Pool, ResultSetHeader } from 'mysql2/promise';
import { z } from 'zod';
import { durationMs, parseMetadata } from '../../metadata';
import { ComponentConfigError, type ComponentMetadata } from '../../types';
import { commonInit } from '../metadata';
import { CounterSequencer } from '../counter';

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain table name');

const schema = z.object({
  /** `mysql://user:pass@host:port/db` or Go's DSN `user:pass@tcp(host:port)/db` (Dapr's form). */
  connectionString: z.string({ error: 'connectionString is required' }),
  tableName: identifier.default('layotto_sequencer'),
  timeout: durationMs().default(20_000),
});

interface Conn {
  host: string;
  port: number;
  user?: string;
  password?: string;
  database: string;
}

/** Parses either connection-string form; the database is required (the table lives in it). */
export function mysqlConnection(s: string): Conn {
  const go = /^(?:([^:@/]*)(?::([^@]*))?@)?tcp\(([^)]*)\)\/([^?]+)/.exec(s.trim());
  if (go) {
    const [host, port] = go[3]!.split(':');
    return { user: go[1] || undefined, password: go[2] || undefined, host: host || '127.0.0.1', port: Number(port || 3306), database: go[4]! };
  }
  let u: URL;
  try {
    u = new URL(s.trim());
  } catch {
    throw new Error('connectionString is neither a mysql:// URL nor user:pass@tcp(host:port)/db');
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!/^mysql:$/i.test(u.protocol) || !database) throw new Error('connectionString must be mysql://user:pass@host:port/database');
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 3306),
    user: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database,
  };
}

export class MySqlSequencer extends CounterSequencer {
  private pool?: Pool;
  private table = '';

  override async init(md: ComponentMetadata): Promise<void> {
    const biggerThan = commonInit(md);
    const cfg = parseMetadata(schema, md.properties);
    let conn: Conn;
    try {
      conn = mysqlConnection(cfg.connectionString);
    } catch (e) {
      throw new ComponentConfigError(`metadata field "connectionString": ${(e as Error).message}`, 'connectionString');
    }
    // mysql2 is loaded only when a MySQL component starts.
    const { createPool } = await import('mysql2/promise');
    // bigNumberStrings: int64 ids (and insertId) arrive as exact strings.
    const pool = createPool({ ...conn, connectTimeout: cfg.timeout, supportBigNumbers: true, bigNumberStrings: true, connectionLimit: 10 });
    this.table = cfg.tableName;
    try {
      await pool.query(`CREATE TABLE IF NOT EXISTS \`${this.table}\` (\`key\` VARCHAR(255) NOT NULL PRIMARY KEY, \`value\` BIGINT NOT NULL)`);
      for (const [key, n] of biggerThan) {
        await pool.query(`INSERT INTO \`${this.table}\` (\`key\`, \`value\`) VALUES (?, ?) ON DUPLICATE KEY UPDATE \`value\` = GREATEST(\`value\`, ?)`, [key, n.toString(), n.toString()]);
      }
    } catch (e) {
      await pool.end().catch(() => {});
      throw new Error(`mysql sequencer: ${(e as Error).message}`);
    }
    this.pool = pool;
  }

  override async close(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    await p?.end();
  }

  async ping(): Promise<void> {
    if (!this.pool) throw new Error('mysql sequencer is not initialized');
    await this.pool.query('SELECT 1');
  }

  protected async advance(key: string, by: number): Promise<bigint> {
    if (!this.pool) throw new Error('mysql sequencer is not initialized');
    const [res] = await this.pool.query<ResultSetHeader>(
      `INSERT INTO \`${this.table}\` (\`key\`, \`value\`) VALUES (?, LAST_INSERT_ID(?)) ON DUPLICATE KEY UPDATE \`value\` = LAST_INSERT_ID(\`value\` + ?)`,
      [key, by, by],
    );
    return BigInt(res.insertId);
  }
}
