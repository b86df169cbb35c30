import { jsonDepthExceeds, MAX_JSON_DEPTH, parseJson } from './json-depth';

const nested = (n: number) => '['.repeat(n) + ']'.repeat(n);

describe('JSON nesting limit', () => {
  it('accepts nesting up to the limit and refuses one level more', () => {
    expect(jsonDepthExceeds(nested(MAX_JSON_DEPTH))).toBe(false);
    expect(jsonDepthExceeds(nested(MAX_JSON_DEPTH + 1))).toBe(true);
    expect(jsonDepthExceeds('{"a":'.repeat(MAX_JSON_DEPTH + 1) + '1' + '}'.repeat(MAX_JSON_DEPTH + 1))).toBe(true);
  });

  it('does not count brackets inside strings (escaped quotes included)', () => {
    const s = JSON.stringify({ a: '\\"' + '['.repeat(5000) + '"{' });
    expect(jsonDepthExceeds(s)).toBe(false);
    expect(parseJson(s)).toEqual(JSON.parse(s));
  });

  it('parseJson throws Go\'s "exceeded max depth" instead of a value nobody can re-serialize', () => {
    expect(() => parseJson(nested(5000))).toThrow(new SyntaxError('exceeded max depth'));
    expect(parseJson('[[1]]')).toEqual([[1]]);
  });
});
