// One way for a PostgreSQL component to get its pool: the connection string in either of daprd's
// forms (a bad one is the manifest's mistake), pg loaded only when such a component starts, and
// idle-client errors left for the next query to report.
import type { Pool, PoolConfig } from 'pg';
import { connectionConfig } from '../state/postgresql/dsn';
import { ComponentConfigError } from '../types';

export async function createPgPool(connectionString: string, opts: PoolConfig = {}): Promise<Pool> {
  let conn: PoolConfig;
  try {
    conn = connectionConfig(connectionString);
  } catch (e) {
    throw new ComponentConfigError(`metadata field "connectionString": ${(e as Error).message}`, 'connectionString');
  }
  const { Pool } = await import('pg');
  const pool = new Pool({ ...conn, ...opts });
  pool.on('error', () => {});
  return pool;
}
