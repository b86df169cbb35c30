// The state backends every SDK compat suite runs its cases on. A backend whose service is down is
// skipped loudly (failed in CI) by requireService; one whose type is not registered shows as skipped.
import { registries } from '../../src/components/builtin';
import { requireService } from '../../test/services';

export interface Backend {
  type: string;
  metadata: Record<string, string>;
  /** Whether the backing service answers (requireService: loud skip, or a failure in CI). */
  reachable: () => Promise<boolean>;
}

export const STATE_BACKENDS: Backend[] = [
  { type: 'state.in-memory', metadata: {}, reachable: async () => true },
  { type: 'state.redis', metadata: { redisHost: 'localhost:6379' }, reachable: () => requireService('redis', '127.0.0.1', 6379) },
  {
    type: 'state.postgresql',
    metadata: { connectionString: 'host=127.0.0.1 port=5432 user=postgres dbname=test sslmode=disable', tableName: 'compat_sdk_state', metadataTableName: 'compat_sdk_metadata' },
    reachable: () => requireService('postgresql', '127.0.0.1', 5432),
  },
];

/** Only types src/components/builtin.ts registers are run. */
export const registered = (type: string): boolean => registries.state.find(type.replace(/^state\./, '')) !== undefined;
