// Schema setup, compatible with contrib's postgresql v1 migrations: the metadata table holds
// key 'migrations' = number of steps applied, so daprd and this store can share a database.
// A transaction-scoped advisory lock serializes concurrent inits (two sidecars starting at once).
// Every step is idempotent and all run on each init: one metadata table ('dapr_metadata' by
// default) serves every state table in the database, so its level can't prove that this table
// exists (a second store, or a table dropped by hand, would otherwise be left without one).
import type { Pool, PoolClient } from 'pg';

type Step = (c: PoolClient) => Promise<unknown>;

export async function migrate(pool: Pool, table: string, metadataTable: string): Promise<void> {
  const steps: Step[] = [
    (c) =>
      c.query(`CREATE TABLE IF NOT EXISTS ${table} (
        key text NOT NULL PRIMARY KEY,
        value jsonb NOT NULL,
        isbinary boolean NOT NULL,
        insertdate TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
        updatedate TIMESTAMP WITH TIME ZONE NULL
      )`),
    (c) => c.query(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS expiredate TIMESTAMP WITH TIME ZONE`),
  ];
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`dapr-migrations:${metadataTable}`]);
    await client.query(`CREATE TABLE IF NOT EXISTS ${metadataTable} (key text NOT NULL PRIMARY KEY, value text NOT NULL)`);
    const r = await client.query<{ value: string }>(`SELECT value FROM ${metadataTable} WHERE key = 'migrations'`);
    const level = r.rows[0] ? Number.parseInt(r.rows[0].value, 10) || 0 : 0;
    for (const step of steps) await step(client);
    if (level < steps.length) {
      await client.query(
        `INSERT INTO ${metadataTable} (key, value) VALUES ('migrations', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [String(steps.length)],
      );
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw new Error(`failed to create or migrate state table '${table}': ${(e as Error).message}`);
  } finally {
    client.release();
  }
}

/**
 * contrib's garbage collector: only one instance per interval wins the 'last-cleanup' row
 * update, and that one deletes the expired rows. Returns the number of rows deleted.
 */
export async function cleanupExpired(pool: Pool, table: string, metadataTable: string, intervalMs: number): Promise<number> {
  const won = await pool.query(
    `INSERT INTO ${metadataTable} (key, value) VALUES ('last-cleanup', now()::text)
     ON CONFLICT (key) DO UPDATE SET value = now()::text
     WHERE (EXTRACT('epoch' FROM now() - ${metadataTable}.value::timestamp with time zone) * 1000)::bigint > $1`,
    [Math.max(0, intervalMs - 1000)],
  );
  if (!won.rowCount) return 0;
  const del = await pool.query(`DELETE FROM ${table} WHERE expiredate IS NOT NULL AND expiredate < now()`);
  return del.rowCount ?? 0;
}
