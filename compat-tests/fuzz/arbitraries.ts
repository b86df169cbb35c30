// fast-check generators shared by the fuzz suites: odd strings, numbers and byte strings, and JSON
// values built from a field shape where every field may come with the right type, a wrong one, null
// or not at all.
import fc from 'fast-check';
import { APP_ID, MAX_BODY, NAMES, NO_URL, TOPIC } from './fuzz-env';

/** Names that reach real components; the generators favour them. */
export const KNOWN = [...Object.values(NAMES), APP_ID, TOPIC, 'db', 'nested:k', 'k1'];

/** Strings that broke parsers somewhere once: separators, traversal, NULs, escapes, numbers as text. */
const TRICKY = [
  '', ' ', '.', '..', '../..', '../canary.txt', '../../canary.txt', '/abs', 'a/../../b', '..\\..\\x', '||', 'a||b', '%', '%%',
  '%00', '%2e%2e', '%2F', '\u0000', 'a\u0000b', '\t', '\r\n', '\u2028', '\ufeff', '\ud800', '\udfff', '😀', 'é', 'ß'.repeat(40),
  '-1', '0', '1e309', 'NaN', 'null', 'true', '9'.repeat(40), '{}', '[]', '"', "'", '\\', '<script>', '${x}', '*', '?', '#', '&', '=',
];

/** Text (UTF-16, lone surrogates included) that never names a URL target. */
export const oddString: fc.Arbitrary<string> = fc
  .oneof(
    { weight: 4, arbitrary: fc.constantFrom(...KNOWN) },
    { weight: 4, arbitrary: fc.constantFrom(...TRICKY) },
    { weight: 3, arbitrary: fc.string({ maxLength: 24 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 16 }) },
    { weight: 1, arbitrary: fc.string({ minLength: 1000, maxLength: 5000 }) },
  )
  .filter(NO_URL);

export const oddNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, -1, 1, 1.5, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 2, Number.MAX_VALUE, Number.MIN_VALUE, 1e21),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

export const oddBytes: fc.Arbitrary<Buffer> = fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a));

/** Bytes that are not valid UTF-8: lone continuation bytes, overlongs, truncated sequences, 0xFF. */
export const invalidUtf8: fc.Arbitrary<Buffer> = fc.oneof(
  fc.constantFrom(...['80', 'bf', 'c0af', 'c328', 'e282', 'ed a0 80', 'f4 90 80 80', 'fe', 'ff', 'fffe', 'f0 9f 98'].map((h) => Buffer.from(h.replace(/ /g, ''), 'hex'))),
  fc.uint8Array({ minLength: 1, maxLength: 16 }).map((a) => Buffer.from(a.map((b) => b | 0x80))),
);

/** Any JSON value, small. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  oddString,
  oddNumber,
  fc.constant(null),
  fc.constant({}),
  fc.constant([]),
);

// ---- Shapes: what a field should hold; values come right, wrong, null or missing.

export type Shape =
  | 'string'
  | 'int'
  | 'bool'
  | 'any'
  | { enum: string[] }
  | { obj: Record<string, Shape> }
  | { arr: Shape }
  | { map: Shape };

function rightValue(shape: Shape, depth: number): fc.Arbitrary<unknown> {
  if (shape === 'string') return oddString;
  if (shape === 'int') return oddNumber;
  if (shape === 'bool') return fc.boolean();
  if (shape === 'any') return anyJson;
  if ('enum' in shape) return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...shape.enum) }, { weight: 1, arbitrary: oddString });
  if ('arr' in shape) return fc.array(valueOf(shape.arr, depth + 1), { maxLength: depth > 1 ? 2 : 4 });
  if ('map' in shape) return fc.dictionary(fc.oneof(fc.constantFrom('fileName', 'path', 'ttlInSeconds', 'contentType', 'rawPayload', 'key', 'operation'), oddString), valueOf(shape.map, depth + 1), { maxKeys: 4 });
  const entries = Object.entries(shape.obj).map(([k, s]) => [k, valueOf(s, depth + 1)] as const);
  return fc.record(Object.fromEntries(entries), { requiredKeys: [] });
}

/** A value for `shape`: mostly the right type (recursively odd), sometimes any JSON or null. */
export function valueOf(shape: Shape, depth = 0): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 6, arbitrary: rightValue(shape, depth) }, { weight: 1, arbitrary: anyJson }, { weight: 1, arbitrary: fc.constant(null) });
}

// ---- Bodies as bytes: shaped JSON, broken JSON, raw bytes, nesting, sizes around the limit.

/** Breaks JSON text: cut short, trailing garbage, a BOM, a byte swapped, a duplicated key. */
const mutateText = (text: string): fc.Arbitrary<Buffer> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constant(Buffer.from(text)) },
    { weight: 1, arbitrary: fc.nat(text.length).map((n) => Buffer.from(text.slice(0, n))) },
    { weight: 1, arbitrary: oddString.map((g) => Buffer.from(text + g)) },
    { weight: 1, arbitrary: fc.constant(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])) },
    { weight: 1, arbitrary: fc.constant(Buffer.from(text, 'utf16le')) },
    { weight: 1, arbitrary: fc.tuple(fc.nat(Math.max(0, text.length - 1)), invalidUtf8).map(([at, b]) => Buffer.concat([Buffer.from(text.slice(0, at)), b, Buffer.from(text.slice(at))])) },
  );

/** '[[[…]]]' or '{"a":{"a":…}}' nested `n` deep (recursive code paths: parsing, re-serializing). */
export const deepJson = (n: number, kind: 'arr' | 'obj'): string => (kind === 'arr' ? '['.repeat(n) + ']'.repeat(n) : '{"a":'.repeat(n) + '1' + '}'.repeat(n));
const deep: fc.Arbitrary<string> = fc.tuple(fc.integer({ min: 100, max: 20000 }), fc.constantFrom<'arr' | 'obj'>('arr', 'obj')).map(([n, k]) => deepJson(n, k));

export interface BodyOptions {
  shape?: Shape;
  /** JSON templates with one hole ($) where raw bytes or deep values go, e.g. '[{"key":"$"}]'. */
  holes?: string[];
}

export function bodyArb(opts: BodyOptions): fc.Arbitrary<Buffer> {
  const shaped = opts.shape ? valueOf(opts.shape) : anyJson;
  const holes = opts.holes?.length ? opts.holes : ['$'];
  const hole = (fill: fc.Arbitrary<Buffer | string>) => fc.tuple(fc.constantFrom(...holes), fill).map(([t, f]) => Buffer.concat([Buffer.from(t.slice(0, t.indexOf('$'))), Buffer.from(f), Buffer.from(t.slice(t.indexOf('$') + 1))]));
  return fc.oneof(
    { weight: 10, arbitrary: shaped.chain((v) => mutateText(JSON.stringify(v) ?? 'null')) },
    { weight: 2, arbitrary: anyJson.map((v) => Buffer.from(JSON.stringify(v) ?? '')) },
    { weight: 2, arbitrary: hole(invalidUtf8) },
    { weight: 1, arbitrary: hole(deep) },
    { weight: 1, arbitrary: fc.string({ maxLength: 64 }).map((s) => Buffer.from(s)) },
    { weight: 1, arbitrary: oddBytes },
    { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
    // Big but within --max-body-size, and just past it (413).
    { weight: 1, arbitrary: fc.integer({ min: MAX_BODY / 2, max: MAX_BODY - 64 }).map((n) => hole(fc.constant('x'.repeat(n)))).chain((a) => a) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 4096 }).map((n) => Buffer.alloc(MAX_BODY + n, 0x61)) },
  );
}
