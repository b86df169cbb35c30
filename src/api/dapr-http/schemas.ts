// zod schemas for every Dapr HTTP request body, compiled once at load. Go's encoding/json accepts
// null for any field or body (zero value), so those are nullish; wrong types are refused with a
// message naming the field.
import { z } from 'zod';

const stringMap = z.record(z.string(), z.string()).nullish();

const options = z
  .object({ concurrency: z.string().nullish(), consistency: z.string().nullish() })
  .nullish();

/** One state item: the SaveState array element and the transaction upsert/delete request. */
export const StateItem = z.object({
  key: z.string().nullish(),
  value: z.unknown().optional(),
  etag: z.string().nullish(),
  metadata: stringMap,
  options,
});
export type StateItem = z.infer<typeof StateItem>;

export const SaveStateBody = z.array(StateItem).nullable();

export const BulkGetBody = z
  .object({
    keys: z.array(z.string()).nullish(),
    parallelism: z.number().int().nullish(),
    metadata: stringMap,
  })
  .nullable();

export const TransactionBody = z
  .object({
    operations: z.array(z.object({ operation: z.string().nullish(), request: StateItem.nullish() })).nullish(),
    metadata: stringMap,
  })
  .nullable();

/** Dapr's state query language; unknown fields are kept for the store to judge. */
export const QueryBody = z.looseObject({
  filter: z.record(z.string(), z.unknown()).nullish(),
  sort: z.array(z.object({ key: z.string(), order: z.enum(['ASC', 'DESC']).optional() })).nullish(),
  page: z.object({ limit: z.number().int().nullish(), token: z.string().nullish() }).nullish(),
});

/** "[0].key: expected string, received number; ..." */
export function describeIssues(err: z.ZodError): string {
  return err.issues
    .map((i) => {
      const path = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
      return path ? `${path}: ${i.message}` : i.message;
    })
    .join('; ');
}
