// Query rows as contrib's postgres binding answers them: a JSON array of rows, each an array of
// column values as pgx decodes them and Go's json.Marshal writes them. Integers and numerics keep
// every digit (pgx: int64 / Numeric, written as number literals), bytea is base64 (Go []byte),
// timestamps are RFC3339 with nanosecond digits trimmed (time.Time), json/jsonb are values.
import type { CustomTypesConfig } from 'pg';

/** A number written as its digits, so int8 and numeric values lose nothing. */
class NumberLiteral {
  constructor(readonly text: string) {}
}

const OID = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
  jsonb: 3802,
} as const;

const NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;
const TIMESTAMP = /^(\d{4,}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d+)?([+-]\d\d(?::?\d\d){0,2})?$/;

/** "…05.120000" → "…05.12", ".000000" → "" (Go's RFC3339Nano trims trailing zeros). */
const fraction = (f = ''): string => f.replace(/0+$/, '').replace(/^\.$/, '');

/** Postgres timestamp text → RFC3339Nano in UTC; "infinity" and BC dates stay as Postgres wrote them. */
function rfc3339(text: string, zoned: boolean): string {
  const m = TIMESTAMP.exec(text);
  if (!m) return text;
  const [, day, time, frac, offset] = m;
  if (!zoned || !offset || /^\+00(:?00)*$/.test(offset)) return `${day}T${time}${fraction(frac)}Z`;
  const off = offset.length === 3 ? `${offset}:00` : offset.replace(/^([+-]\d\d)(\d\d)/, '$1:$2').slice(0, 6);
  const utc = new Date(`${day}T${time}${off}`).toISOString();
  return `${utc.slice(0, 19)}${fraction(frac)}Z`;
}

function float(text: string): unknown {
  const n = Number(text);
  if (!Number.isFinite(n)) throw new Error(`json: unsupported value: ${text}`);
  return new NumberLiteral(String(n));
}

const PARSERS: Record<number, (text: string) => unknown> = {
  [OID.bool]: (t) => t === 't',
  [OID.bytea]: (t) => Buffer.from(t.startsWith('\\x') ? t.slice(2) : t, 'hex'),
  [OID.int8]: (t) => new NumberLiteral(t),
  [OID.int2]: (t) => new NumberLiteral(t),
  [OID.int4]: (t) => new NumberLiteral(t),
  [OID.oid]: (t) => new NumberLiteral(t),
  [OID.float4]: float,
  [OID.float8]: float,
  [OID.numeric]: (t) => (NUMBER.test(t) ? new NumberLiteral(t) : t),
  [OID.json]: (t) => JSON.parse(t),
  [OID.jsonb]: (t) => JSON.parse(t),
  [OID.date]: (t) => (/^\d{4,}-\d\d-\d\d$/.test(t) ? `${t}T00:00:00Z` : t),
  [OID.timestamp]: (t) => rfc3339(t, false),
  [OID.timestamptz]: (t) => rfc3339(t, true),
};

/** Per-query type parsers: the ones above, text as is for everything else (arrays included). */
export const rowTypes: CustomTypesConfig = {
  getTypeParser: ((oid: number) => PARSERS[oid] ?? ((t: string) => t)) as CustomTypesConfig['getTypeParser'],
};

function toJson(v: unknown): string {
  if (v instanceof NumberLiteral) return v.text;
  if (Buffer.isBuffer(v)) return JSON.stringify(v.toString('base64'));
  if (Array.isArray(v)) return `[${v.map(toJson).join(',')}]`;
  return JSON.stringify(v) ?? 'null';
}

/** Rows (rowMode "array") as one JSON array; `[]` when there are none. */
export const rowsJson = (rows: unknown[][]): Buffer => Buffer.from(toJson(rows));
