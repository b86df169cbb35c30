// state.mongodb component metadata and connection URI, after contrib's mongodb state store.
import { z } from 'zod';
import { durationMs, parseMetadata } from '../../metadata';
import { ComponentConfigError } from '../../types';
import type { MongoConnectOptions } from './port';

const schema = z.object({
  connectionString: z.string().optional(),
  host: z.string().optional(),
  server: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  databaseName: z.string().default('daprStore'),
  collectionName: z.string().default('daprCollection'),
  operationTimeout: durationMs().default(5000),
  params: z.string().optional(),
  writeConcern: z.string().optional(),
  readConcern: z.enum(['local', 'majority', 'available', 'linearizable', 'snapshot']).optional(),
});

export function parseMongoMetadata(props: Record<string, string>): MongoConnectOptions {
  const m = parseMetadata(schema, props);
  return {
    uri: connectionUri(m),
    databaseName: m.databaseName,
    collectionName: m.collectionName,
    operationTimeoutMs: m.operationTimeout,
    writeConcern: m.writeConcern,
    readConcern: m.readConcern,
  };
}

function connectionUri(m: z.infer<typeof schema>): string {
  if (m.connectionString) return m.connectionString;
  if (!m.host && !m.server) throw new ComponentConfigError("must set 'host' or 'server' fields in metadata", 'host');
  if (m.host && m.server) throw new ComponentConfigError("'host' or 'server' fields are mutually exclusive", 'host');
  const params = m.params ? (m.params.startsWith('?') ? m.params : `?${m.params}`) : '';
  const auth = m.username && m.password ? `${encodeURIComponent(m.username)}:${encodeURIComponent(m.password)}@` : '';
  if (m.server) return `mongodb+srv://${auth}${m.server}/${auth ? m.databaseName : ''}${params}`;
  return `mongodb://${auth}${m.host}/${m.databaseName}${params}`;
}
