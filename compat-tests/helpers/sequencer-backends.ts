// The sequencer backends the sequencer suites run on (in-memory always; Redis, PostgreSQL, MariaDB
// and etcd when they answer: a loud skip, or a failure in CI, otherwise).
import { requireService } from '../../test/services';

export interface SequencerBackend {
  type: string;
  metadata: Record<string, string>;
  /** Survives the process: two sidecars (or two instances) share its counters. */
  shared: boolean;
  /** Hands out segments (getSegment), so WEAK requests are served from the runtime's cache. */
  segments: boolean;
  reachable: () => Promise<boolean>;
}

export const SEQUENCER_BACKENDS: SequencerBackend[] = [
  { type: 'sequencer.in-memory', metadata: {}, shared: false, segments: true, reachable: async () => true },
  {
    type: 'sequencer.redis',
    metadata: { redisHost: 'localhost:6379' },
    shared: true,
    segments: true,
    reachable: () => requireService('redis', '127.0.0.1', 6379),
  },
  {
    type: 'sequencer.postgresql',
    metadata: { connectionString: 'host=127.0.0.1 port=5432 user=postgres dbname=test sslmode=disable' },
    shared: true,
    segments: true,
    reachable: () => requireService('postgresql', '127.0.0.1', 5432),
  },
  {
    type: 'sequencer.mysql',
    metadata: { connectionString: 'root:@tcp(127.0.0.1:3306)/test' },
    shared: true,
    segments: true,
    reachable: () => requireService('mariadb', '127.0.0.1', 3306),
  },
  {
    type: 'sequencer.etcd',
    metadata: { endpoints: '127.0.0.1:2379' },
    shared: true,
    segments: false,
    reachable: () => requireService('etcd', '127.0.0.1', 2379),
  },
];

/** Each client's ids strictly increase, and no id appears twice overall. */
export function assertUniqueAndIncreasing(perClient: bigint[][]): void {
  for (const ids of perClient) {
    for (let i = 1; i < ids.length; i++) {
      if (!(ids[i]! > ids[i - 1]!)) throw new Error(`client sequence not increasing at ${i}: ${ids[i - 1]} then ${ids[i]}`);
    }
  }
  const all = perClient.flat();
  const unique = new Set(all.map(String));
  if (unique.size !== all.length) throw new Error(`${all.length - unique.size} duplicate id(s)`);
}
