import { parseQuery, QueryParseError } from '../query';
import { buildQuerySql } from './query-sql';

const sql = (q: unknown) => buildQuerySql(parseQuery(q), 'state');

describe('buildQuerySql', () => {
  it('without a filter selects live rows in key order', () => {
    const { text, values } = sql({});
    expect(text).toBe(
      'SELECT key, value::text AS value, isbinary, xmin::text AS etag FROM state WHERE (expiredate IS NULL OR expiredate >= CURRENT_TIMESTAMP) ORDER BY key ASC',
    );
    expect(values).toEqual([]);
  });

  it('binds paths and values as parameters, never as SQL text', () => {
    const evil = "x'); DROP TABLE state; --";
    const { text, values } = sql({ filter: { EQ: { [`person.${evil}`]: evil } } });
    expect(text).not.toContain('DROP');
    expect(text).toContain('(value #> $1::text[]) = $2::jsonb');
    expect(values).toEqual([['person', evil], JSON.stringify(evil)]);
  });

  it('translates every operator', () => {
    const { text, values } = sql({
      filter: {
        OR: [
          { AND: [{ NEQ: { a: 1 } }, { IN: { b: ['x', 2] } }] },
          { AND: [{ GT: { 'n.v': 5 } }, { LTE: { s: 'm' } }] },
          { AND: [{ GTE: { n: 1 } }, { LT: { n: 9 } }] },
        ],
      },
    });
    expect(text).toContain(
      'AND (((value #> $1::text[]) IS DISTINCT FROM $2::jsonb AND (value #> $3::text[]) IN (SELECT jsonb_array_elements($4::jsonb)))' +
        " OR ((jsonb_typeof((value #> $5::text[])) = 'number' AND (value #> $5::text[]) > $6::jsonb)" +
        " AND (jsonb_typeof((value #> $7::text[])) = 'string' AND (value #> $7::text[]) <= $8::jsonb))",
    );
    expect(values.slice(0, 8)).toEqual([['a'], '1', ['b'], '["x",2]', ['n', 'v'], '5', ['s'], '"m"']);
  });

  it('sorts with missing fields first (ASC) and pages with bound limit/offset', () => {
    const { text, values } = sql({ sort: [{ key: 'p.id', order: 'DESC' }, { key: 'c' }], page: { limit: 3, token: '6' } });
    expect(text).toContain('ORDER BY (value #> $1::text[]) DESC NULLS LAST, (value #> $2::text[]) ASC NULLS FIRST, key ASC LIMIT $3 OFFSET $4');
    expect(values).toEqual([['p', 'id'], ['c'], 3, 6]);
  });

  it('rejects range filters on objects, booleans or null', () => {
    expect(() => sql({ filter: { GT: { a: true } } })).toThrow(QueryParseError);
    expect(() => sql({ filter: { LT: { a: { b: 1 } } } })).toThrow('needs a number or a string');
  });
});
