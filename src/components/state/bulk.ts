// Contrib's DefaultBulkStore semantics for stores without a native bulk write: every item is
// attempted, and the failures come back together as one BulkStoreError naming each key.
import { BulkStoreError } from './types';

export async function settleAll<T extends { key: string }>(reqs: T[], fn: (r: T) => Promise<void>): Promise<void> {
  const results = await Promise.allSettled(reqs.map(fn));
  const errors = results.flatMap((r, i) =>
    r.status === 'rejected' ? [{ key: reqs[i]!.key, error: r.reason instanceof Error ? r.reason : new Error(String(r.reason)) }] : [],
  );
  if (errors.length > 0) throw new BulkStoreError(errors);
}
