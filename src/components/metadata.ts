// Component metadata parsing: Dapr metadata names are case-insensitive strings, so each component
// declares a zod schema and gets typed, validated config back (z.coerce / z.stringbool do the work).
import { z } from 'zod';
import { ComponentConfigError } from './types';

/** Matches the schema's keys against the manifest's names case-insensitively. */
export function parseMetadata<S extends z.ZodObject>(schema: S, props: Record<string, string>): z.infer<S> {
  const byLower = new Map<string, string>();
  for (const [k, v] of Object.entries(props)) byLower.set(k.toLowerCase(), v);
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const v = byLower.get(key.toLowerCase());
    if (v !== undefined && v !== '') input[key] = v;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.');
    throw new ComponentConfigError(`metadata field "${field}": ${issue.message}`, field);
  }
  return parsed.data;
}

/** Dapr duration strings ("5s", "100ms", "1m30s", "1h") or plain seconds -> milliseconds. */
export function parseDuration(value: string): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
  let total = 0;
  let consumed = 0;
  for (const m of value.matchAll(re)) {
    total += Number(m[1]) * unit[m[2]!]!;
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== value.length) throw new Error(`invalid duration "${value}"`);
  return total;
}

/** A zod field for a Dapr duration string, yielding milliseconds. */
export const durationMs = () =>
  z.string().transform((v, ctx) => {
    try {
      return parseDuration(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
      return z.NEVER;
    }
  });
