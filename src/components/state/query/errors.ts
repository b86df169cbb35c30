// A malformed query is the caller's mistake (400), not a store failure (500): core passes
// RuntimeErrors through unchanged, so the parse error is turned into one here.
import { RuntimeError } from '../../../errors/runtime-error';
import { QueryParseError } from './parse';

export function queryError(storeName: string, e: unknown): unknown {
  if (e instanceof QueryParseError) return new RuntimeError('STATE_QUERY_BAD_REQUEST', storeName, e.message).withResource('state', storeName);
  return e;
}
