// Evaluates a parsed query over JSON values in process (the Mongo fake and any store without a
// native query engine). Semantics follow MongoDB's, which contrib's Mongo query maps to:
// typed equality, NEQ/NOT-IN also match a missing field, GT/LT compare numbers with numbers and
// strings with strings only.
import { isDeepStrictEqual } from 'node:util';
import type { Filter, JsonValue, ParsedQuery, SortItem } from './parse';
import { nextToken, pathOf } from './parse';

/** The value at a dotted path, or undefined when any segment is missing. */
export function getPath(value: unknown, path: string[]): JsonValue | undefined {
  let cur: unknown = value;
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(cur, p)) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur as JsonValue;
}

export const jsonEqual = (a: unknown, b: unknown): boolean => isDeepStrictEqual(a, b);

/** Ordered comparison of two scalars of the same kind; undefined when they don't compare. */
export function compareScalar(a: unknown, b: unknown): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return undefined;
}

/** Mongo-like predicate for one comparison operator on a field value (undefined = missing). */
export function compareOp(op: string, field: JsonValue | undefined, arg: unknown): boolean {
  switch (op) {
    case 'EQ':
      return field !== undefined && jsonEqual(field, arg);
    case 'NEQ':
      return field === undefined || !jsonEqual(field, arg);
    case 'GT':
    case 'GTE':
    case 'LT':
    case 'LTE': {
      const c = compareScalar(field, arg);
      if (c === undefined) return false;
      return op === 'GT' ? c > 0 : op === 'GTE' ? c >= 0 : op === 'LT' ? c < 0 : c <= 0;
    }
    default:
      throw new Error(`unknown operator ${op}`);
  }
}

export function matches(filter: Filter | undefined, value: unknown): boolean {
  if (!filter) return true;
  switch (filter.op) {
    case 'AND':
      return filter.filters.every((f) => matches(f, value));
    case 'OR':
      return filter.filters.some((f) => matches(f, value));
    case 'IN': {
      const field = getPath(value, pathOf(filter.key));
      return field !== undefined && filter.values.some((v) => jsonEqual(field, v));
    }
    default:
      return compareOp(filter.op, getPath(value, pathOf(filter.key)), filter.value);
  }
}

/** Rank of a JSON type in sort order (MongoDB's BSON order: null < numbers < strings < objects < arrays < booleans). */
function typeRank(v: JsonValue | undefined): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return 1;
  if (typeof v === 'string') return 2;
  if (Array.isArray(v)) return 4;
  if (typeof v === 'object') return 3;
  return 5;
}

/** Total order over JSON values for sorting. */
export function compareJson(a: JsonValue | undefined, b: JsonValue | undefined): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  const c = compareScalar(a, b);
  if (c !== undefined) return c;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0;
}

/** Comparator for rows by the query's sort keys, then by row key so pages are stable. */
export function sortComparator<T>(sort: SortItem[], valueOf: (row: T) => unknown, keyOf: (row: T) => string): (a: T, b: T) => number {
  return (x, y) => {
    for (const s of sort) {
      const p = pathOf(s.key);
      const c = compareJson(getPath(valueOf(x), p), getPath(valueOf(y), p));
      if (c !== 0) return s.order === 'DESC' ? -c : c;
    }
    const kx = keyOf(x);
    const ky = keyOf(y);
    return kx < ky ? -1 : kx > ky ? 1 : 0;
  };
}

/** Filters, sorts and pages rows in process; returns the page and the next token. */
export function runQuery<T>(rows: T[], q: ParsedQuery, valueOf: (row: T) => unknown, keyOf: (row: T) => string): { rows: T[]; token?: string } {
  const hits = rows.filter((r) => matches(q.filter, valueOf(r))).sort(sortComparator(q.sort, valueOf, keyOf));
  const page = q.limit > 0 ? hits.slice(q.offset, q.offset + q.limit) : hits.slice(q.offset);
  return { rows: page, token: nextToken(q, page.length) };
}
