// JSON.stringify as Go's json.Marshal writes a decoded value: object keys sorted and <, >, &,
// U+2028, U+2029 escaped. daprd stores HTTP state values this way, so the bytes match what a real
// daprd would have written to the same store.
const ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};
const SPECIAL = /[<>&\u2028\u2029]/g;
const HAS_SPECIAL = /[<>&\u2028\u2029]/;

function sortKeys(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const src = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(src).sort()) out[k] = src[k];
  return out;
}

export function goJsonStringify(value: unknown): string {
  const text = JSON.stringify(value === undefined ? null : value, sortKeys) ?? 'null';
  return HAS_SPECIAL.test(text) ? text.replace(SPECIAL, (c) => ESCAPES[c]!) : text;
}
