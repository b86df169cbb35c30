// One readiness probe per live component that can ping its backend, read from the component
// store on every check so components loaded later (or hot-reloaded) are covered; and one that is
// always DOWN per component skipped at startup under ignoreErrors (never retried, as in daprd), so
// readiness says which component is missing and why rather than looking healthy without it.
import type { ComponentStore } from '../../components/store';
import { isPinger } from '../../components/types';
import type { Probe } from './probes';

/** A component whose init failed under ignoreErrors (the processor's list). */
export interface SkippedComponent {
  kind: string;
  name: string;
  reason: string;
}

/** Named `<kind>-<name>` (a name is unique within its kind), like Layotto's `lock-redis-...`. */
export function componentProbes(store: ComponentStore, skipped: () => readonly SkippedComponent[] = () => []): () => Probe[] {
  return () => [
    ...store.list().flatMap((c) => {
      const instance: unknown = c.instance;
      return isPinger(instance) ? [{ name: `${c.kind}-${c.name}`, ping: () => instance.ping() }] : [];
    }),
    ...skipped().map((s) => ({ name: `${s.kind}-${s.name}`, ping: () => Promise.reject(new Error(`not loaded (init failed; ignoreErrors): ${s.reason}`)) })),
  ];
}
