// Translates a parsed Dapr query into one parameterized SELECT over the v1 table. Field paths,
// values, limit and offset are all bind parameters; only the (validated) table name is text.
// Semantics match the shared evaluator: typed JSON equality, NEQ also matches a missing field,
// GT/LT compare numbers with numbers and strings with strings, missing fields sort first.
import { type Filter, type ParsedQuery, pathOf, QueryParseError } from '../query';

export interface SqlQuery {
  text: string;
  values: unknown[];
}

const RANGE: Record<string, string> = { GT: '>', GTE: '>=', LT: '<', LTE: '<=' };

export function buildQuerySql(q: ParsedQuery, table: string): SqlQuery {
  const values: unknown[] = [];
  const param = (v: unknown): string => {
    values.push(v);
    return `$${values.length}`;
  };
  const field = (key: string): string => `(value #> ${param(pathOf(key))}::text[])`;

  const where = (f: Filter): string => {
    switch (f.op) {
      case 'AND':
      case 'OR':
        return `(${f.filters.map(where).join(` ${f.op} `)})`;
      case 'EQ':
        return `${field(f.key)} = ${param(JSON.stringify(f.value))}::jsonb`;
      case 'NEQ':
        return `${field(f.key)} IS DISTINCT FROM ${param(JSON.stringify(f.value))}::jsonb`;
      case 'IN':
        return `${field(f.key)} IN (SELECT jsonb_array_elements(${param(JSON.stringify(f.values))}::jsonb))`;
      default: {
        if (typeof f.value !== 'number' && typeof f.value !== 'string') {
          throw new QueryParseError(`${f.op} filter on "${f.key}" needs a number or a string value`);
        }
        const type = typeof f.value === 'number' ? 'number' : 'string';
        const fld = field(f.key);
        return `(jsonb_typeof(${fld}) = '${type}' AND ${fld} ${RANGE[f.op]} ${param(JSON.stringify(f.value))}::jsonb)`;
      }
    }
  };

  let text = `SELECT key, value::text AS value, isbinary, xmin::text AS etag FROM ${table} WHERE (expiredate IS NULL OR expiredate >= CURRENT_TIMESTAMP)`;
  if (q.filter) text += ` AND ${where(q.filter)}`;
  const order = q.sort.map((s) => `${field(s.key)} ${s.order === 'DESC' ? 'DESC NULLS LAST' : 'ASC NULLS FIRST'}`);
  text += ` ORDER BY ${[...order, 'key ASC'].join(', ')}`;
  if (q.limit > 0) text += ` LIMIT ${param(q.limit)}`;
  if (q.offset > 0) text += ` OFFSET ${param(q.offset)}`;
  return { text, values };
}
