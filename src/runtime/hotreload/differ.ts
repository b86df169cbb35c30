// The pure half of hot reload (daprd's hotreload/differ): two sets of resources of one kind, keyed
// by identity, in; what was created, updated and deleted out. Parsed manifests only hold the fields
// the runtime reads (zod drops labels, annotations and the like), so those never count as a change.
import { isDeepStrictEqual } from 'node:util';

export interface Diff<T> {
  created: T[];
  updated: { old: T; next: T }[];
  deleted: T[];
}

/** Resources of one kind by key; `same` decides whether a kept key's resource changed. */
export function diff<T>(old: ReadonlyMap<string, T>, next: ReadonlyMap<string, T>, same: (a: T, b: T) => boolean = isDeepStrictEqual): Diff<T> {
  const out: Diff<T> = { created: [], updated: [], deleted: [] };
  for (const [key, n] of next) {
    const o = old.get(key);
    if (o === undefined) out.created.push(n);
    else if (!same(o, n)) out.updated.push({ old: o, next: n });
  }
  for (const [key, o] of old) if (!next.has(key)) out.deleted.push(o);
  return out;
}

export function isEmpty(d: Diff<unknown>): boolean {
  return d.created.length === 0 && d.updated.length === 0 && d.deleted.length === 0;
}

/**
 * Keys a list, first one wins; later ones with a key already taken are returned apart (a second
 * component with the same kind and name), so the caller can report them.
 */
export function keyed<T>(items: readonly T[], key: (t: T) => string): { map: Map<string, T>; duplicates: T[] } {
  const map = new Map<string, T>();
  const duplicates: T[] = [];
  for (const item of items) {
    const k = key(item);
    if (map.has(k)) duplicates.push(item);
    else map.set(k, item);
  }
  return { map, duplicates };
}
