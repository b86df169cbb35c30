// state.postgresql v1: contrib's v1 table layout (key, value jsonb, isbinary, insertdate,
// updatedate, expiredate) with the row's xmin as ETag, so daprd and this store can share a table.
import type { Pool, PoolClient } from 'pg';
import { type ComponentMetadata, ComponentConfigError } from '../../types';
import { settleAll } from '../bulk';
import { nextToken, parseQuery, queryError } from '../query';
import {
  type BulkGetItem,
  type DeleteRequest,
  ETagError,
  type GetRequest,
  type GetResponse,
  type QueryableStateStore,
  type QueryRequest,
  type QueryResponse,
  type SetRequest,
  StateFeature,
  type TransactionalRequest,
  type TransactionalStateStore,
} from '../types';
import { parsePostgresMetadata, type PostgresStateConfig } from './metadata';
import { connectionConfig } from './dsn';
import { cleanupExpired, migrate } from './migrations';
import { buildQuerySql } from './query-sql';
import { decodeValue, encodeValue } from './value';

type Db = Pool | PoolClient;

interface Row {
  key: string;
  value: string;
  isbinary: boolean;
  etag: string;
  expiredate: Date | null;
}

const rfc3339 = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The ETag is a Postgres xid (uint32); anything else is an invalid ETag (400), as in contrib. */
function xid(etag: string): string {
  if (!/^\d+$/.test(etag) || Number(etag) > 0xffffffff) throw new ETagError('invalid', `invalid etag value: ${etag}`);
  return etag;
}

export class PostgresStateStore implements TransactionalStateStore, QueryableStateStore {
  private pool?: Pool;
  private cfg?: PostgresStateConfig;
  private name = '';
  private gc?: NodeJS.Timeout;

  async init(md: ComponentMetadata): Promise<void> {
    const cfg = parsePostgresMetadata(md.properties);
    this.cfg = cfg;
    this.name = md.name;
    let conn;
    try {
      conn = connectionConfig(cfg.connectionString);
    } catch (e) {
      throw new ComponentConfigError(`metadata field "connectionString": ${(e as Error).message}`, 'connectionString');
    }
    // pg is loaded only when a PostgreSQL component starts.
    const { Pool } = await import('pg');
    const pool = new Pool({
      ...conn,
      max: cfg.maxConns,
      connectionTimeoutMillis: cfg.timeout,
      query_timeout: cfg.timeout,
    });
    pool.on('error', () => {}); // idle-client errors are reported by the next query instead
    try {
      await pool.query('SELECT 1');
    } catch (e) {
      await pool.end().catch(() => {});
      throw new Error(`failed to ping the database: ${(e as Error).message}`);
    }
    try {
      await migrate(pool, cfg.tableName, cfg.metadataTableName);
    } catch (e) {
      await pool.end().catch(() => {});
      throw e;
    }
    this.pool = pool;
    if (cfg.cleanupInterval > 0) {
      this.gc = setInterval(() => void this.cleanupExpired().catch(() => {}), cfg.cleanupInterval);
      this.gc.unref();
    }
  }

  features(): readonly string[] {
    return [StateFeature.ETAG, StateFeature.TRANSACTIONAL, StateFeature.QUERY_API, StateFeature.TTL];
  }

  async ping(): Promise<void> {
    await this.db().query('SELECT 1');
  }

  /** Deletes expired rows now (if this instance wins the interval); used by the timer and tests. */
  async cleanupExpired(): Promise<number> {
    const cfg = this.config();
    return cleanupExpired(this.db(), cfg.tableName, cfg.metadataTableName, cfg.cleanupInterval);
  }

  async get(req: GetRequest): Promise<GetResponse | undefined> {
    const r = await this.db().query<Row>(
      `SELECT key, value::text AS value, isbinary, xmin::text AS etag, expiredate FROM ${this.table()}
       WHERE key = $1 AND (expiredate IS NULL OR expiredate >= CURRENT_TIMESTAMP)`,
      [req.key],
    );
    const row = r.rows[0];
    return row ? toResponse(row) : undefined;
  }

  async bulkGet(reqs: GetRequest[]): Promise<BulkGetItem[]> {
    if (reqs.length === 0) return [];
    const r = await this.db().query<Row>(
      `SELECT key, value::text AS value, isbinary, xmin::text AS etag, expiredate FROM ${this.table()}
       WHERE key = ANY($1::text[]) AND (expiredate IS NULL OR expiredate >= CURRENT_TIMESTAMP)`,
      [reqs.map((q) => q.key)],
    );
    const byKey = new Map(r.rows.map((row) => [row.key, row]));
    return reqs.map((q) => {
      const row = byKey.get(q.key);
      if (!row) return { key: q.key };
      try {
        return { key: q.key, ...toResponse(row) };
      } catch (e) {
        return { key: q.key, error: (e as Error).message };
      }
    });
  }

  async set(req: SetRequest): Promise<void> {
    await this.doSet(this.db(), req);
  }

  async delete(req: DeleteRequest): Promise<void> {
    await this.doDelete(this.db(), req);
  }

  async bulkSet(reqs: SetRequest[]): Promise<void> {
    await settleAll(reqs, (r) => this.set(r));
  }

  async bulkDelete(reqs: DeleteRequest[]): Promise<void> {
    await settleAll(reqs, (r) => this.delete(r));
  }

  async multi(req: TransactionalRequest): Promise<void> {
    const client = await this.db().connect();
    try {
      await client.query('BEGIN');
      for (const op of req.operations) {
        if (op.operation === 'upsert') await this.doSet(client, op.request);
        else await this.doDelete(client, op.request);
      }
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  async query(req: QueryRequest): Promise<QueryResponse> {
    let sql;
    let parsed;
    try {
      parsed = parseQuery(req.query);
      sql = buildQuerySql(parsed, this.table());
    } catch (e) {
      throw queryError(this.name, e);
    }
    const r = await this.db().query<Row>(sql.text, sql.values);
    const results = r.rows.map((row) => {
      try {
        return { key: row.key, data: decodeValue(row.value, row.isbinary), etag: row.etag };
      } catch (e) {
        return { key: row.key, data: Buffer.alloc(0), etag: row.etag, error: (e as Error).message };
      }
    });
    return { results, token: nextToken(parsed, results.length) };
  }

  async close(): Promise<void> {
    if (this.gc) clearInterval(this.gc);
    this.gc = undefined;
    const p = this.pool;
    this.pool = undefined;
    await p?.end();
  }

  private async doSet(db: Db, req: SetRequest): Promise<void> {
    const { json, isBinary } = encodeValue(req);
    const ttl = req.ttlInSeconds !== undefined && req.ttlInSeconds > 0 ? req.ttlInSeconds : null;
    const expire = `CASE WHEN $4::integer IS NOT NULL THEN CURRENT_TIMESTAMP + $4::integer * interval '1 second' END`;
    const t = this.table();
    let r;
    if (req.etag === undefined) {
      // Upsert in both cases; with first-write an existing row is replaced only when it expired.
      const onlyExpired = req.options?.concurrency === 'first-write' ? ' WHERE t.expiredate IS NOT NULL AND t.expiredate < CURRENT_TIMESTAMP' : '';
      r = await db.query(
        `INSERT INTO ${t} AS t (key, value, isbinary, expiredate) VALUES ($1, $2::jsonb, $3, ${expire})
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, isbinary = excluded.isbinary,
           updatedate = CURRENT_TIMESTAMP, expiredate = excluded.expiredate${onlyExpired}`,
        [req.key, json, isBinary, ttl],
      );
    } else {
      r = await db.query(
        `UPDATE ${t} SET value = $2::jsonb, isbinary = $3, updatedate = CURRENT_TIMESTAMP, expiredate = ${expire}
         WHERE key = $1 AND xmin = $5::xid AND (expiredate IS NULL OR expiredate > CURRENT_TIMESTAMP)`,
        [req.key, json, isBinary, ttl, xid(req.etag)],
      );
    }
    if (r.rowCount !== 1) {
      if (req.etag !== undefined) throw new ETagError('mismatch');
      throw new Error('no item was updated');
    }
  }

  private async doDelete(db: Db, req: DeleteRequest): Promise<void> {
    const t = this.table();
    if (req.etag === undefined) {
      await db.query(`DELETE FROM ${t} WHERE key = $1`, [req.key]);
      return;
    }
    const r = await db.query(`DELETE FROM ${t} WHERE key = $1 AND xmin = $2::xid`, [req.key, xid(req.etag)]);
    if (r.rowCount !== 1) throw new ETagError('mismatch');
  }

  private table(): string {
    return this.config().tableName;
  }

  private config(): PostgresStateConfig {
    if (!this.cfg) throw new Error('postgresql store is not initialized');
    return this.cfg;
  }

  private db(): Pool {
    if (!this.pool) throw new Error('postgresql store is not initialized');
    return this.pool;
  }
}

function toResponse(row: Row): GetResponse {
  const res: GetResponse = { data: decodeValue(row.value, row.isbinary), etag: row.etag };
  if (row.expiredate) res.metadata = { ttlExpireTime: rfc3339(row.expiredate) };
  return res;
}
