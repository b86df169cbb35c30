// bindings.postgresql (alias bindings.postgres), as contrib's: request metadata `sql` is the
// statement and `params` an optional JSON array of its $1.. arguments. exec answers metadata
// rows-affected, query answers the rows as a JSON array of arrays, close closes the pool (later
// calls fail with "component is closed"). Every answer carries operation, sql, start-time,
// end-time and duration metadata.
import type { Pool } from 'pg';
import { z } from 'zod';
import { durationMs, parseMetadata } from '../../metadata';
import { createPgPool } from '../../common/postgres';
import type { ComponentMetadata } from '../../types';
import type { BindingInvokeRequest, BindingInvokeResponse, OutputBinding } from '../types';
import { goDuration, rfc3339Nano } from './go-time';
import { rowsJson, rowTypes } from './rows-json';

const EXEC = 'exec';
const QUERY = 'query';
const CLOSE = 'close';

const schema = z.object({
  connectionString: z.string({ error: 'connectionString is required' }),
  timeout: durationMs().default(20_000),
  maxConns: z.coerce.number().int().positive().optional(),
});

/** pgx's error text: "ERROR: <message> (SQLSTATE <code>)" for server errors, the message otherwise. */
function pgText(e: unknown): string {
  const err = e as { message?: string; severity?: string; code?: string };
  if (err.severity && err.code) return `${err.severity}: ${err.message} (SQLSTATE ${err.code})`;
  return err.message ?? String(e);
}

function params(md: Record<string, string>): unknown[] {
  const text = md.params;
  if (!text) return [];
  let args: unknown;
  try {
    args = JSON.parse(text);
  } catch (e) {
    throw new Error(`invalid metadata property params: failed to unserialize into an array: ${(e as Error).message}`);
  }
  if (!Array.isArray(args)) throw new Error('invalid metadata property params: failed to unserialize into an array: not a JSON array');
  // Objects and arrays go to Postgres as JSON text, as pgx encodes a decoded JSON value for json columns.
  return args.map((a) => (a !== null && typeof a === 'object' ? JSON.stringify(a) : a));
}

export class PostgresOutputBinding implements OutputBinding {
  private pool?: Pool;
  private closed = false;

  async init(md: ComponentMetadata): Promise<void> {
    const cfg = parseMetadata(schema, md.properties);
    // timeout bounds every query too (contrib: "timeout for operations on the database"), so a
    // stalled server fails calls instead of hanging them.
    const pool = await createPgPool(cfg.connectionString, { max: cfg.maxConns, connectionTimeoutMillis: cfg.timeout, query_timeout: cfg.timeout });
    try {
      await pool.query('SELECT 1');
    } catch (e) {
      await pool.end().catch(() => {});
      throw new Error(`failed to ping the DB: ${pgText(e)}`);
    }
    this.pool = pool;
  }

  features(): readonly string[] {
    return [];
  }

  operations(): readonly string[] {
    return [EXEC, QUERY, CLOSE];
  }

  async invoke(req: BindingInvokeRequest): Promise<BindingInvokeResponse | undefined> {
    // "close" succeeds even when the component is closed already.
    if (req.operation === CLOSE) {
      await this.close();
      return undefined;
    }
    if (this.closed || !this.pool) throw new Error('component is closed');
    const sql = req.metadata.sql;
    if (!sql) throw new Error('required metadata not set: sql');
    const values = params(req.metadata);
    const start = new Date();
    const t0 = performance.now();
    const metadata: Record<string, string> = { operation: req.operation, sql, 'start-time': rfc3339Nano(start) };
    let data: Buffer = Buffer.alloc(0);
    try {
      if (req.operation === EXEC) {
        const res = await this.pool.query({ text: sql, values });
        metadata['rows-affected'] = String(res.rowCount ?? 0);
      } else if (req.operation === QUERY) {
        const res = await this.pool.query({ text: sql, values, rowMode: 'array', types: rowTypes });
        data = rowsJson(res.rows as unknown[][]);
      } else {
        throw new Error(`invalid operation type: ${req.operation}. Expected ${EXEC}, ${QUERY}, or ${CLOSE}`);
      }
    } catch (e) {
      if (e instanceof Error && e.message.startsWith('invalid operation type')) throw e;
      throw new Error(`error executing query: ${pgText(e)}`);
    }
    const end = new Date();
    metadata['end-time'] = rfc3339Nano(end);
    metadata.duration = goDuration(performance.now() - t0);
    return { data, metadata };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end().catch(() => {});
  }
}
