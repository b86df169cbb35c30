// daprd (pgx) accepts both URL and keyword/value connection strings; node-postgres only URLs.
// Dapr's docs use the keyword form ("host=localhost user=postgres password=example port=5432
// connect_timeout=10 database=my_dapr"), so it is translated into a pg config here.
import type { PoolConfig } from 'pg';

export function connectionConfig(connectionString: string): PoolConfig {
  if (/^postgres(ql)?:\/\//i.test(connectionString.trim())) return { connectionString };
  const kv = new Map<string, string>();
  const re = /\s*([A-Za-z_]+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S*))/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(connectionString)) !== null) {
    kv.set(m[1]!.toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!);
    if (re.lastIndex >= connectionString.length) break;
  }
  if (kv.size === 0 || connectionString.slice(re.lastIndex).trim() !== '') {
    throw new Error('connectionString is neither a postgres:// URL nor "key=value" pairs');
  }
  const sslmode = kv.get('sslmode');
  return {
    host: kv.get('host') ?? kv.get('hostaddr'),
    port: kv.has('port') ? Number(kv.get('port')) : undefined,
    user: kv.get('user'),
    password: kv.get('password'),
    database: kv.get('dbname') ?? kv.get('database'),
    application_name: kv.get('application_name'),
    ssl: sslmode === undefined || sslmode === 'disable' || sslmode === 'prefer' || sslmode === 'allow' ? undefined : { rejectUnauthorized: sslmode === 'verify-full' || sslmode === 'verify-ca' },
  };
}
