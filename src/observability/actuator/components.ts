// One readiness probe per live component that can ping its backend, read from the component
// store on every check so components loaded later (or hot-reloaded) are covered.
import type { ComponentStore } from '../../components/store';
import { isPinger } from '../../components/types';
import type { Probe } from './probes';

/** Named `<kind>-<name>` (a name is unique within its kind), like Layotto's `lock-redis-...`. */
export function componentProbes(store: ComponentStore): () => Probe[] {
  return () =>
    store.list().flatMap((c) => {
      const instance: unknown = c.instance;
      return isPinger(instance) ? [{ name: `${c.kind}-${c.name}`, ping: () => instance.ping() }] : [];
    });
}
