// Dapr's state query language (components-contrib state/query): validates the JSON a caller sent
// and turns it into a small typed tree every store translates (SQL, Mongo filter, in-process).
import type { Query } from '../types';

export type Scalar = string | number | boolean | null;
export type JsonValue = Scalar | JsonValue[] | { [k: string]: JsonValue };

export type CompareOp = 'EQ' | 'NEQ' | 'GT' | 'GTE' | 'LT' | 'LTE';

export type Filter =
  | { op: CompareOp; key: string; value: JsonValue }
  | { op: 'IN'; key: string; values: JsonValue[] }
  | { op: 'AND' | 'OR'; filters: Filter[] };

export interface SortItem {
  key: string;
  order: 'ASC' | 'DESC';
}

export interface ParsedQuery {
  filter?: Filter;
  sort: SortItem[];
  /** 0 = no limit. */
  limit: number;
  /** Rows to skip: the decoded page token. */
  offset: number;
}

/** A malformed query; stores report it as a bad request, never as a store failure. */
export class QueryParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryParseError';
  }
}

const COMPARE: readonly string[] = ['EQ', 'NEQ', 'GT', 'GTE', 'LT', 'LTE'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses a query object (already JSON-decoded) or throws QueryParseError. */
export function parseQuery(raw: Query | unknown): ParsedQuery {
  if (!isObject(raw)) throw new QueryParseError('query must be a JSON object');
  const out: ParsedQuery = { sort: [], limit: 0, offset: 0 };
  if (raw.filter !== undefined && raw.filter !== null) {
    if (!isObject(raw.filter)) throw new QueryParseError('filter must be an object');
    if (Object.keys(raw.filter).length > 0) out.filter = parseFilter(raw.filter);
  }
  if (raw.sort !== undefined && raw.sort !== null) {
    if (!Array.isArray(raw.sort)) throw new QueryParseError('sort must be an array');
    out.sort = raw.sort.map(parseSort);
  }
  if (raw.page !== undefined && raw.page !== null) {
    if (!isObject(raw.page)) throw new QueryParseError('page must be an object');
    const { limit, token } = raw.page;
    if (limit !== undefined) {
      if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0) throw new QueryParseError('page.limit must be a non-negative integer');
      out.limit = limit;
    }
    if (token !== undefined && token !== '') {
      if (typeof token !== 'string' || !/^\d+$/.test(token)) throw new QueryParseError(`invalid page token ${JSON.stringify(token)}`);
      out.offset = Number(token);
    }
  }
  return out;
}

function parseSort(s: unknown): SortItem {
  if (!isObject(s) || typeof s.key !== 'string' || s.key === '') throw new QueryParseError('sort entries need a "key" string');
  checkKey(s.key);
  const order = s.order === undefined || s.order === '' ? 'ASC' : s.order;
  if (order !== 'ASC' && order !== 'DESC') throw new QueryParseError(`sort order must be ASC or DESC, got ${JSON.stringify(s.order)}`);
  return { key: s.key, order };
}

export function parseFilter(obj: unknown): Filter {
  if (!isObject(obj)) throw new QueryParseError('filter unit must be a map');
  const entries = Object.entries(obj);
  if (entries.length !== 1) throw new QueryParseError('filter unit must have a single element');
  const [op, arg] = entries[0]!;
  if (op === 'AND' || op === 'OR') {
    if (!Array.isArray(arg)) throw new QueryParseError(`${op} filter must be an array`);
    if (arg.length < 2) throw new QueryParseError(`${op} filter must contain at least two entries`);
    return { op, filters: arg.map(parseFilter) };
  }
  if (op !== 'IN' && !COMPARE.includes(op)) throw new QueryParseError(`unsupported filter ${JSON.stringify(op)}`);
  if (!isObject(arg)) throw new QueryParseError(`${op} filter must be a map`);
  const pairs = Object.entries(arg);
  if (pairs.length !== 1) throw new QueryParseError(`${op} filter must contain a single key/value pair`);
  const [key, value] = pairs[0]!;
  checkKey(key);
  if (op === 'IN') {
    if (!Array.isArray(value)) throw new QueryParseError('IN filter value must be an array');
    if (value.length === 0) throw new QueryParseError(`empty IN operator for key ${JSON.stringify(key)}`);
    return { op, key, values: value as JsonValue[] };
  }
  return { op: op as CompareOp, key, value: value as JsonValue };
}

/** Field paths are dot-separated names; empty segments would match nothing sensible. */
function checkKey(key: string): void {
  if (key === '' || key.split('.').some((p) => p === '')) throw new QueryParseError(`invalid field path ${JSON.stringify(key)}`);
}

/** "person.org" -> ["person", "org"]. */
export const pathOf = (key: string): string[] => key.split('.');

/** Dapr's page token: the offset of the next page, returned whenever a limit is set. */
export function nextToken(q: ParsedQuery, returned: number): string | undefined {
  return q.limit > 0 ? String(q.offset + returned) : undefined;
}
