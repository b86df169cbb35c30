// Reading app JSON the way Go's encoding/json fills a struct: object keys match field names
// ignoring case (the last matching key in the document wins) and null reads as absent.

export type JsonObject = Record<string, unknown>;

export const isJsonObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The value of the field `name` (case-insensitive), undefined when absent or null. */
export function goField(obj: JsonObject, name: string): unknown {
  const want = name.toLowerCase();
  let found: unknown;
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === want) found = v;
  return found === null ? undefined : found;
}
