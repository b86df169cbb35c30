// Load balancers over a cluster's members, as Envoy's: round robin (smooth weighted, nginx's
// algorithm, so weights 5:1:1 interleave instead of bursting), least request (power of two choices
// over in-flight requests; with unequal weights, weighted round robin over weight / (active + 1),
// Envoy's active_request_bias 1) and weighted random. Each pick is one pass over the members, no
// allocation; a member is eligible when available and not in `exclude` (a retry's tried set).
import type { ClusterConfig } from '../config';
import type { Member } from './endpoint';
import type { Endpoint } from './types';

export interface Balancer {
  pick(exclude?: ReadonlySet<Endpoint>): Member | undefined;
}

const eligible = (m: Member, exclude: ReadonlySet<Endpoint> | undefined): boolean => m.available && (exclude === undefined || !exclude.has(m));

const sameWeights = (members: readonly Member[]): boolean => members.every((m) => m.weight === members[0]!.weight);

/** Equal weights: a rotating index, skipping what is not eligible. */
class RoundRobin implements Balancer {
  private next = 0;
  constructor(private readonly members: readonly Member[]) {}

  pick(exclude?: ReadonlySet<Endpoint>): Member | undefined {
    const ms = this.members;
    const n = ms.length;
    for (let i = 0; i < n; i++) {
      const idx = (this.next + i) % n;
      const m = ms[idx]!;
      if (eligible(m, exclude)) {
        this.next = idx + 1;
        return m;
      }
    }
    return undefined;
  }
}

/** nginx's smooth weighted round robin; `weightOf` lets least request feed it dynamic weights. */
class SmoothWeighted implements Balancer {
  constructor(
    private readonly members: readonly Member[],
    private readonly weightOf: (m: Member) => number = (m) => m.weight,
  ) {}

  pick(exclude?: ReadonlySet<Endpoint>): Member | undefined {
    let best: Member | undefined;
    let total = 0;
    for (const m of this.members) {
      if (!eligible(m, exclude)) continue;
      const w = this.weightOf(m);
      m.current += w;
      total += w;
      if (best === undefined || m.current > best.current) best = m;
    }
    if (best) best.current -= total;
    return best;
  }
}

/** A uniformly random eligible member, or two distinct ones: index k among the eligible. */
function nthEligible(members: readonly Member[], k: number, exclude: ReadonlySet<Endpoint> | undefined): Member | undefined {
  for (const m of members) if (eligible(m, exclude) && k-- === 0) return m;
  return undefined;
}

function countEligible(members: readonly Member[], exclude: ReadonlySet<Endpoint> | undefined): number {
  let n = 0;
  for (const m of members) if (eligible(m, exclude)) n++;
  return n;
}

/** Equal weights: the less busy of two distinct random members (ties go to the first draw). */
class PowerOfTwo implements Balancer {
  constructor(private readonly members: readonly Member[]) {}

  pick(exclude?: ReadonlySet<Endpoint>): Member | undefined {
    const n = countEligible(this.members, exclude);
    if (n <= 1) return n === 1 ? nthEligible(this.members, 0, exclude) : undefined;
    const a = Math.floor(Math.random() * n);
    let b = Math.floor(Math.random() * (n - 1));
    if (b >= a) b++;
    const ma = nthEligible(this.members, a, exclude)!;
    const mb = nthEligible(this.members, b, exclude)!;
    return mb.active < ma.active ? mb : ma;
  }
}

class WeightedRandom implements Balancer {
  constructor(private readonly members: readonly Member[]) {}

  pick(exclude?: ReadonlySet<Endpoint>): Member | undefined {
    let total = 0;
    for (const m of this.members) if (eligible(m, exclude)) total += m.weight;
    if (total === 0) return undefined;
    let r = Math.random() * total;
    let last: Member | undefined;
    for (const m of this.members) {
      if (!eligible(m, exclude)) continue;
      last = m;
      r -= m.weight;
      if (r < 0) return m;
    }
    return last; // rounding at the very top of the range
  }
}

export function createBalancer(policy: ClusterConfig['lbPolicy'], members: readonly Member[]): Balancer {
  switch (policy) {
    case 'round_robin':
      return sameWeights(members) ? new RoundRobin(members) : new SmoothWeighted(members);
    case 'least_request':
      return sameWeights(members) ? new PowerOfTwo(members) : new SmoothWeighted(members, (m) => m.weight / (m.active + 1));
    case 'random':
      return new WeightedRandom(members);
  }
}
