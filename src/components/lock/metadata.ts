// Metadata every lock component shares: the runtime-level keyPrefix strategy. The core applies it;
// components only refuse a bad one at init, as daprd's SaveLockConfiguration does.
import { ComponentConfigError } from '../types';

export const KEY_SEPARATOR = '||';

/** The manifest's keyPrefix (names are case-insensitive), or undefined when unset/empty. */
export function keyPrefixOf(props: Record<string, string>): string | undefined {
  for (const [k, v] of Object.entries(props)) if (k.toLowerCase() === 'keyprefix' && v) return v;
  return undefined;
}

export function assertKeyPrefix(props: Record<string, string>): void {
  const p = keyPrefixOf(props);
  if (p?.includes(KEY_SEPARATOR)) {
    throw new ComponentConfigError(`input key/keyPrefix '${p}' can't contain '${KEY_SEPARATOR}'`, 'keyPrefix');
  }
}
