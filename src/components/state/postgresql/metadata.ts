// state.postgresql (v1) component metadata, after contrib's postgresql v1 metadata.
import { z } from 'zod';
import { durationMs, parseMetadata } from '../../metadata';

/** Table names go into SQL text (identifiers can't be parameters), so only plain [schema.]name. */
const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/, 'must be a plain [schema.]table name');

const schema = z.object({
  connectionString: z.string({ error: 'connectionString is required' }),
  tableName: identifier.default('state'),
  metadataTableName: identifier.default('dapr_metadata'),
  timeout: durationMs().default(20_000),
  /** How often expired rows are deleted; "0" (or a negative value) disables the cleanup. */
  cleanupInterval: z
    .string()
    .transform((v, ctx) => {
      if (/^-/.test(v.trim()) || v.trim() === '0') return 0;
      try {
        return durationMs().parse(v);
      } catch {
        ctx.addIssue({ code: 'custom', message: `invalid duration "${v}"` });
        return z.NEVER;
      }
    })
    .default(3_600_000),
  maxConns: z.coerce.number().int().positive().optional(),
});

export type PostgresStateConfig = z.infer<typeof schema>;

export const parsePostgresMetadata = (props: Record<string, string>): PostgresStateConfig => parseMetadata(schema, props);
