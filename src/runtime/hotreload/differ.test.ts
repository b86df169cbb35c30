import fc from 'fast-check';
import { diff, isEmpty, keyed } from './differ';

const m = (entries: [string, unknown][]) => new Map(entries);

describe('diff', () => {
  it('sorts keys into created, updated and deleted; unchanged ones are left out', () => {
    const old = m([['state/a', { v: 1 }], ['state/b', { v: 1 }], ['pubsub/c', { v: 1 }]]);
    const next = m([['state/a', { v: 1 }], ['state/b', { v: 2 }], ['lock/d', { v: 1 }]]);
    expect(diff(old, next)).toEqual({ created: [{ v: 1 }], updated: [{ old: { v: 1 }, next: { v: 2 } }], deleted: [{ v: 1 }] });
  });

  it('compares deeply by default, or with the given equality', () => {
    const old = m([['k', { spec: { metadata: [{ name: 'host', value: 'a' }] } }]]);
    expect(isEmpty(diff(old, m([['k', { spec: { metadata: [{ name: 'host', value: 'a' }] } }]])))).toBe(true);
    expect(diff(old, m([['k', { spec: { metadata: [{ name: 'host', value: 'b' }] } }]])).updated).toHaveLength(1);
    expect(isEmpty(diff(old, m([['k', { other: true }]]), () => true))).toBe(true);
  });

  it('nothing to nothing, and everything created or deleted', () => {
    expect(isEmpty(diff(m([]), m([])))).toBe(true);
    expect(diff(m([]), m([['a', 1]])).created).toEqual([1]);
    expect(diff(m([['a', 1]]), m([])).deleted).toEqual([1]);
  });

  it('property: applying the diff to old gives next', () => {
    const maps = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.integer({ min: 0, max: 3 }));
    fc.assert(
      fc.property(maps, maps, (o, n) => {
        const old = new Map(Object.entries(o).map(([k, v]) => [k, { k, v }]));
        const next = new Map(Object.entries(n).map(([k, v]) => [k, { k, v }]));
        const d = diff(old, next);
        const out = new Map(old);
        for (const x of d.deleted) out.delete(x.k);
        for (const u of d.updated) out.set(u.next.k, u.next);
        for (const x of d.created) out.set(x.k, x);
        expect(out).toEqual(next);
        // Nothing is reported twice, and unchanged keys are not reported.
        const reported = [...d.created, ...d.deleted, ...d.updated.map((u) => u.next)].map((x) => x.k);
        expect(new Set(reported).size).toBe(reported.length);
        for (const k of reported) expect(old.get(k)?.v).not.toBe(next.get(k)?.v ?? -1);
      }),
    );
  });
});

describe('keyed', () => {
  it('keeps the first of a key and returns the later ones apart', () => {
    const { map, duplicates } = keyed([{ k: 'a', n: 1 }, { k: 'b', n: 2 }, { k: 'a', n: 3 }], (x) => x.k);
    expect([...map.values()].map((x) => x.n)).toEqual([1, 2]);
    expect(duplicates).toEqual([{ k: 'a', n: 3 }]);
  });
});
