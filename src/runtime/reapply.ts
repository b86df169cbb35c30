// The runtime half of Lifecycle.ApplyConfiguration: rebuild one live component through the same
// pipeline as at startup (create → init, in a scratch store), with its current metadata merged with
// the new, then swap it into the store and close the old instance. A failing init leaves the old
// instance in place and serving.
import type { Logger } from 'pino';
import { ComponentStore, type Kind } from '../components/store';
import type { Reapply } from '../core/lifecycle';
import { ManifestError } from './loader';
import { ComponentProcessor, type ProcessorOptions } from './processor';

const SOURCE = 'ApplyConfiguration';

export function componentReapplier(store: ComponentStore, opts: ProcessorOptions): Reapply {
  return async (kind: Kind, name: string, metadata: Record<string, string>) => {
    const old = store.get(kind, name);
    if (!old) throw new Error(`component ${name} is no longer loaded`);
    const properties = { ...old.meta.properties, ...metadata };
    const scratch = new ComponentStore();
    let live;
    try {
      live = await new ComponentProcessor(scratch, opts).apply({
        manifest: {
          apiVersion: 'dapr.io/v1alpha1',
          kind: 'Component',
          metadata: { name, namespace: old.meta.namespace || undefined },
          // Values are already resolved (secrets, env), so they go in as plain values.
          spec: { type: old.meta.type, version: old.meta.version, ignoreErrors: false, metadata: Object.entries(properties).map(([n, value]) => ({ name: n, value })) },
          scopes: [],
        },
        file: SOURCE,
        line: 0,
        lineOf: () => 0,
      });
    } catch (e) {
      throw new Error(e instanceof ManifestError ? e.reason : (e as Error).message);
    }
    if (!live) throw new Error(`component ${name} was not rebuilt`);
    if (store.get(kind, name) !== old) {
      // Removed or replaced meanwhile (shutdown): the new instance has no place to go.
      await live.instance.close().catch(() => undefined);
      throw new Error(`component ${name} changed while it was being re-configured`);
    }
    store.add(live);
    opts.log.info({ component: name }, `component re-configured: ${name} (${old.meta.type}/${old.meta.version}) by ${SOURCE}`);
    await old.instance.close().catch((e: unknown) => warn(opts.log, name, e));
  };
}

function warn(log: Logger, name: string, e: unknown): void {
  log.warn({ component: name }, `error closing the replaced instance of ${name}: ${(e as Error).message}`);
}
