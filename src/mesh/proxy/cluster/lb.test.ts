// Balancer spreads over 10k picks: weights honoured (exactly for smooth round robin, within a few
// percent for the random ones), least request steering away from busy endpoints, and what pick()
// skips: unavailable members and a retry's tried set.
import { Member } from './endpoint';
import { createBalancer } from './lb';

const PICKS = 10_000;

const members = (...weights: number[]): Member[] => weights.map((w, i) => new Member('127.0.0.1', 10_000 + i, w));

function spread(ms: Member[], pick: () => Member | undefined, n = PICKS): number[] {
  const counts = ms.map(() => 0);
  for (let i = 0; i < n; i++) counts[ms.indexOf(pick()!)]!++;
  return counts;
}

/** Each share within ±tolerance (a fraction of all picks) of its weight's share. */
function expectShares(counts: number[], weights: number[], tolerance: number): void {
  const total = weights.reduce((a, b) => a + b, 0);
  const picks = counts.reduce((a, b) => a + b, 0);
  counts.forEach((c, i) => expect(Math.abs(c / picks - weights[i]! / total)).toBeLessThan(tolerance));
}

describe('round_robin', () => {
  it('cycles through equal endpoints in order', () => {
    const ms = members(1, 1, 1);
    const lb = createBalancer('round_robin', ms);
    expect([1, 2, 3, 4, 5, 6].map(() => lb.pick()!.port)).toEqual([10_000, 10_001, 10_002, 10_000, 10_001, 10_002]);
  });

  it('honours weights exactly and interleaves them (smooth weighted)', () => {
    const ms = members(5, 1, 1);
    const lb = createBalancer('round_robin', ms);
    // 1428 full cycles of 7, then a a b a.
    expect(spread(ms, () => lb.pick())).toEqual([7143, 1429, 1428]);
    // nginx's sequence for 5:1:1: a a b a c a a — never the heavy one seven times in a row.
    const lb2 = createBalancer('round_robin', members(5, 1, 1));
    expect(Array.from({ length: 7 }, () => lb2.pick()!.port - 10_000)).toEqual([0, 0, 1, 0, 2, 0, 0]);
  });

  it('skips unavailable endpoints and excluded ones, and finds none when nothing is left', () => {
    const ms = members(1, 1, 1);
    const lb = createBalancer('round_robin', ms);
    ms[1]!.ejected = true;
    ms[1]!.refresh();
    expect(spread(ms, () => lb.pick(), 100)).toEqual([50, 0, 50]);
    expect(lb.pick(new Set([ms[0]!]))).toBe(ms[2]);
    expect(lb.pick(new Set([ms[0]!, ms[2]!]))).toBeUndefined();
  });
});

describe('random', () => {
  it('spreads by weight', () => {
    const ms = members(3, 1, 1);
    const lb = createBalancer('random', ms);
    expectShares(spread(ms, () => lb.pick()), [3, 1, 1], 0.03);
  });

  it('never picks an unhealthy endpoint', () => {
    const ms = members(1, 1, 1);
    const lb = createBalancer('random', ms);
    ms[0]!.health = 'unhealthy';
    ms[0]!.refresh();
    const counts = spread(ms, () => lb.pick());
    expect(counts[0]).toBe(0);
    expectShares(counts.slice(1), [1, 1], 0.03);
  });
});

describe('least_request', () => {
  it('spreads evenly over idle endpoints of equal weight', () => {
    const ms = members(1, 1, 1, 1);
    const lb = createBalancer('least_request', ms);
    expectShares(spread(ms, () => lb.pick()), [1, 1, 1, 1], 0.03);
  });

  it('prefers idle endpoints over a busy one (power of two choices)', () => {
    const ms = members(1, 1, 1);
    ms[0]!.active = 10;
    const lb = createBalancer('least_request', ms);
    const counts = spread(ms, () => lb.pick());
    // Two distinct candidates: the busy one loses every comparison.
    expect(counts[0]).toBe(0);
    expectShares(counts.slice(1), [1, 1], 0.03);
  });

  it('honours weights when idle and shifts load off busy endpoints when weighted', () => {
    const ms = members(3, 1);
    const lb = createBalancer('least_request', ms);
    expectShares(spread(ms, () => lb.pick()), [3, 1], 0.02);
    // Four requests in flight on the heavy one: its weight counts as 3 / 5, less than the light one's.
    ms[0]!.active = 4;
    const busy = spread(ms, () => lb.pick());
    expectShares(busy, [0.6, 1], 0.02);
  });
});
