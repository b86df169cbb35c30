import { matches, parseQuery, QueryParseError, runQuery, compareJson } from '.';

describe('parseQuery', () => {
  it('parses filter, sort and page', () => {
    const q = parseQuery({
      filter: { AND: [{ EQ: { 'person.org': 'Dev Ops' } }, { IN: { state: ['CA', 'WA'] } }] },
      sort: [{ key: 'person.id', order: 'DESC' }, { key: 'state' }],
      page: { limit: 2, token: '4' },
    });
    expect(q.filter).toEqual({
      op: 'AND',
      filters: [
        { op: 'EQ', key: 'person.org', value: 'Dev Ops' },
        { op: 'IN', key: 'state', values: ['CA', 'WA'] },
      ],
    });
    expect(q.sort).toEqual([
      { key: 'person.id', order: 'DESC' },
      { key: 'state', order: 'ASC' },
    ]);
    expect(q.limit).toBe(2);
    expect(q.offset).toBe(4);
  });

  it('accepts an empty query', () => {
    expect(parseQuery({})).toEqual({ sort: [], limit: 0, offset: 0 });
    expect(parseQuery({ filter: {} }).filter).toBeUndefined();
  });

  it.each([
    [[], 'query must be a JSON object'],
    [{ filter: { EQ: { a: 1 }, NEQ: { b: 2 } } }, 'single element'],
    [{ filter: { LIKE: { a: 1 } } }, 'unsupported filter "LIKE"'],
    [{ filter: { EQ: { a: 1, b: 2 } } }, 'single key/value pair'],
    [{ filter: { EQ: 5 } }, 'EQ filter must be a map'],
    [{ filter: { IN: { a: 1 } } }, 'IN filter value must be an array'],
    [{ filter: { IN: { a: [] } } }, 'empty IN operator'],
    [{ filter: { AND: [{ EQ: { a: 1 } }] } }, 'at least two entries'],
    [{ filter: { OR: { EQ: { a: 1 } } } }, 'OR filter must be an array'],
    [{ filter: { EQ: { 'a..b': 1 } } }, 'invalid field path'],
    [{ sort: [{ key: 'a', order: 'UP' }] }, 'sort order must be ASC or DESC'],
    [{ sort: {} }, 'sort must be an array'],
    [{ page: { limit: -1 } }, 'page.limit'],
    [{ page: { limit: 2, token: 'abc' } }, 'invalid page token'],
  ])('rejects %j', (q, msg) => {
    expect(() => parseQuery(q)).toThrow(QueryParseError);
    expect(() => parseQuery(q)).toThrow(msg);
  });
});

describe('evaluate', () => {
  const doc = { person: { org: 'Dev Ops', id: 1036 }, city: 'Seattle', state: 'WA', tags: ['a'] };
  const m = (filter: unknown) => matches(parseQuery({ filter }).filter, doc);

  it('compares with typed equality on nested paths', () => {
    expect(m({ EQ: { 'person.org': 'Dev Ops' } })).toBe(true);
    expect(m({ EQ: { 'person.id': '1036' } })).toBe(false);
    expect(m({ EQ: { tags: ['a'] } })).toBe(true);
    expect(m({ EQ: { missing: null } })).toBe(false);
  });

  it('NEQ and IN', () => {
    expect(m({ NEQ: { state: 'CA' } })).toBe(true);
    expect(m({ NEQ: { missing: 'x' } })).toBe(true);
    expect(m({ IN: { state: ['CA', 'WA'] } })).toBe(true);
    expect(m({ IN: { state: ['CA'] } })).toBe(false);
  });

  it('range operators compare numbers and strings only within their type', () => {
    expect(m({ GT: { 'person.id': 1000 } })).toBe(true);
    expect(m({ GTE: { 'person.id': 1036 } })).toBe(true);
    expect(m({ LT: { 'person.id': 1036 } })).toBe(false);
    expect(m({ LTE: { 'person.id': 1036 } })).toBe(true);
    expect(m({ GT: { 'person.id': '1' } })).toBe(false);
    expect(m({ GT: { city: 'Boston' } })).toBe(true);
  });

  it('AND / OR nest', () => {
    expect(m({ OR: [{ EQ: { state: 'CA' } }, { AND: [{ EQ: { city: 'Seattle' } }, { GT: { 'person.id': 1 } }] }] })).toBe(true);
    expect(m({ AND: [{ EQ: { state: 'WA' } }, { EQ: { city: 'Boston' } }] })).toBe(false);
  });

  it('sorts, pages and returns the next offset as token', () => {
    const rows = [5, 3, 9, 1, 7].map((n) => ({ key: `k${n}`, value: { n } }));
    const q = parseQuery({ sort: [{ key: 'n', order: 'DESC' }], page: { limit: 2 } });
    const p1 = runQuery(rows, q, (r) => r.value, (r) => r.key);
    expect(p1.rows.map((r) => r.value.n)).toEqual([9, 7]);
    expect(p1.token).toBe('2');
    const p3 = runQuery(rows, parseQuery({ sort: [{ key: 'n', order: 'DESC' }], page: { limit: 2, token: '4' } }), (r) => r.value, (r) => r.key);
    expect(p3.rows.map((r) => r.value.n)).toEqual([1]);
    expect(p3.token).toBe('5');
  });

  it('orders mixed types null < numbers < strings', () => {
    expect([3, 'a', null, 1].sort(compareJson)).toEqual([null, 1, 3, 'a']);
  });
});
