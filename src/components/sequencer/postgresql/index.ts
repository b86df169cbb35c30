// sequencer.postgresql: one row per key (key text primary key, value bigint = last id handed out).
// Each id or segment is one upsert-and-return statement, so the row lock serializes concurrent
// sidecars and no id is handed out twice. The table is created at init.
import type { Pool } from 'pg';
import { z } from 'zod';
import { durationMs, parseMetadata } from '../../metadata';
import { connectionConfig } from '../../state/postgresql/dsn';
import { ComponentConfigError, type ComponentMetadata } from '../../types';
import { commonInit } from '../metadata';
import { CounterSequencer } from '../counter';

/** Table names go into SQL text, so only plain [schema.]name. */
const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/, 'must be a plain [schema.]table name');

const schema = z.object({
  connectionString: z.string({ error: 'connectionString is required' }),
  tableName: identifier.default('layotto_sequencer'),
  timeout: durationMs().default(20_000),
});

export class PostgresSequencer extends CounterSequencer {
  private pool?: Pool;
  private table = '';

  override async init(md: ComponentMetadata): Promise<void> {
    const biggerThan = commonInit(md);
    const cfg = parseMetadata(schema, md.properties);
    let conn;
    try {
      conn = connectionConfig(cfg.connectionString);
    } catch (e) {
      throw new ComponentConfigError(`metadata field "connectionString": ${(e as Error).message}`, 'connectionString');
    }
    // pg is loaded only when a PostgreSQL component starts.
    const { Pool } = await import('pg');
    const pool = new Pool({ ...conn, connectionTimeoutMillis: cfg.timeout, query_timeout: cfg.timeout });
    pool.on('error', () => {}); // idle-client errors are reported by the next query instead
    this.table = cfg.tableName;
    try {
      await createTable(pool, this.table);
      for (const [key, n] of biggerThan) {
        await pool.query(
          `INSERT INTO ${this.table} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = GREATEST(${this.table}.value, EXCLUDED.value)`,
          [key, n.toString()],
        );
      }
    } catch (e) {
      await pool.end().catch(() => {});
      throw new Error(`postgresql sequencer: ${(e as Error).message}`);
    }
    this.pool = pool;
  }

  override async close(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    await p?.end();
  }

  async ping(): Promise<void> {
    if (!this.pool) throw new Error('postgresql sequencer is not initialized');
    await this.pool.query('SELECT 1');
  }

  protected async advance(key: string, by: number): Promise<bigint> {
    if (!this.pool) throw new Error('postgresql sequencer is not initialized');
    const r = await this.pool.query<{ value: string }>(
      `INSERT INTO ${this.table} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = ${this.table}.value + EXCLUDED.value RETURNING value::text AS value`,
      [key, by],
    );
    return BigInt(r.rows[0]!.value);
  }
}

/** CREATE TABLE IF NOT EXISTS can still collide when two sidecars start together: retry once. */
async function createTable(pool: Pool, table: string): Promise<void> {
  const ddl = `CREATE TABLE IF NOT EXISTS ${table} (key text PRIMARY KEY, value bigint NOT NULL)`;
  try {
    await pool.query(ddl);
  } catch (e) {
    if (!['23505', '42P07'].includes((e as { code?: string }).code ?? '')) throw e;
    await pool.query(ddl);
  }
}
