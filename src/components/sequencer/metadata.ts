// Metadata every sequencer shares, and the one key format (layotto.md §3.2) used by the core for
// requests and by components for `biggerThan` at init, so both address the same stored key.
//
// biggerThan: Layotto's JSON config has `biggerThan: {key: n}` beside `metadata`; a Dapr-style
// manifest only has name/value pairs, so each entry is the metadata item `biggerThan.<key>` = n.
import { ComponentConfigError, type ComponentMetadata } from '../types';

export const KEY_SEPARATOR = '||';
const API_HEAD = 'sequencer|||';
const BIGGER_THAN = 'biggerthan.';
const INT64_MAX = (1n << 63n) - 1n;

/** A metadata value by case-insensitive name, or undefined when unset/empty. */
export function prop(props: Record<string, string>, name: string): string | undefined {
  const want = name.toLowerCase();
  for (const [k, v] of Object.entries(props)) if (k.toLowerCase() === want && v !== '') return v;
  return undefined;
}

/** Layotto's stored key: `sequencer|||<prefix>||<key>`, prefix per keyPrefix (default appid). */
export function sequencerKey(md: Pick<ComponentMetadata, 'name' | 'appId' | 'properties'>, key: string): string {
  const strategy = prop(md.properties, 'keyPrefix') ?? 'appid';
  for (const part of [key, strategy]) {
    if (part.includes(KEY_SEPARATOR)) throw new Error(`input key/keyPrefix '${part}' can't contain '${KEY_SEPARATOR}'`);
  }
  switch (strategy.toLowerCase()) {
    case 'none':
      return API_HEAD + key;
    case 'name':
      return API_HEAD + md.name + KEY_SEPARATOR + key;
    case 'appid':
      return md.appId ? API_HEAD + md.appId + KEY_SEPARATOR + key : API_HEAD + key;
    default:
      return API_HEAD + strategy.toLowerCase() + KEY_SEPARATOR + key;
  }
}

/** `biggerThan.<key>` entries as stored key → n (ids handed out must be > n). */
export function biggerThanOf(md: ComponentMetadata): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const [name, value] of Object.entries(md.properties)) {
    if (!name.toLowerCase().startsWith(BIGGER_THAN)) continue;
    const key = name.slice(BIGGER_THAN.length);
    if (!key) throw new ComponentConfigError(`metadata "${name}" names no key`, name);
    if (!/^\d+$/.test(value.trim()) || BigInt(value.trim()) >= INT64_MAX) {
      throw new ComponentConfigError(`metadata "${name}" must be a non-negative int64 below ${INT64_MAX}, got "${value}"`, name);
    }
    try {
      out.set(sequencerKey(md, key), BigInt(value.trim()));
    } catch (e) {
      throw new ComponentConfigError((e as Error).message, name);
    }
  }
  return out;
}

/** Refuses a keyPrefix containing the separator at init. */
export function assertKeyPrefix(props: Record<string, string>): void {
  const p = prop(props, 'keyPrefix');
  if (p?.includes(KEY_SEPARATOR)) throw new ComponentConfigError(`input key/keyPrefix '${p}' can't contain '${KEY_SEPARATOR}'`, 'keyPrefix');
}

/** Runtime settings of the WEAK segment cache (Layotto docs: segmentCacheEnable true, segmentStep 50). */
export function segmentSettings(props: Record<string, string>): { enabled: boolean; step: number } {
  const enabled = (prop(props, 'segmentCacheEnable') ?? 'true').toLowerCase() !== 'false';
  const raw = prop(props, 'segmentStep') ?? '50';
  const step = Number(raw);
  if (!Number.isInteger(step) || step < 1) throw new ComponentConfigError(`metadata "segmentStep" must be a positive integer, got "${raw}"`, 'segmentStep');
  return { enabled, step };
}

/** The checks every sequencer runs at init, before touching its backend. */
export function commonInit(md: ComponentMetadata): Map<string, bigint> {
  assertKeyPrefix(md.properties);
  segmentSettings(md.properties);
  return biggerThanOf(md);
}

/** Applies each biggerThan bound through `raise`; on a failure closes the store and names the keys. */
export async function applyBiggerThan(
  what: string,
  biggerThan: Map<string, bigint>,
  raise: (key: string, n: bigint) => Promise<unknown>,
  close: () => Promise<void>,
): Promise<void> {
  try {
    for (const [key, n] of biggerThan) await raise(key, n);
  } catch (e) {
    await close();
    throw new Error(`${what}: biggerThan for ${[...biggerThan.keys()].join(', ')} failed: ${(e as Error).message}`);
  }
}
