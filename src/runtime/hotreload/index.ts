// Hot reload wiring: the watcher's settled changes → re-read every resource (a broken file keeps
// its old resources) → the reconciler applies the difference. Reloads run one at a time, in order.
// On unless --hot-reload=false or the Configuration turns the HotReload feature off (daprd's gate).
import type { Logger } from 'pino';
import type { RuntimeConfiguration } from '../../config/configuration';
import { scoped } from '../../observability/logger';
import { Reconciler, type ReconcilerDeps, type ReloadSummary } from './reconciler';
import { ResourceReader, type Resources, type Sources } from './resources';
import { watchResources } from './watcher';

export { InFlight } from './inflight';
export { SwappableResiliency } from './resiliency';

export interface HotReload {
  /** Resolves once the watcher is watching. */
  ready: Promise<void>;
  /** Reads and applies everything now (what a file change triggers). */
  reload(): Promise<ReloadSummary | undefined>;
  /** Stops watching, waits for a reload in progress and for replaced instances to close. */
  close(): Promise<void>;
}

/** Whether to watch: the flag, then the Configuration's HotReload feature gate. */
export function hotReloadEnabled(flag: boolean, config: RuntimeConfiguration): { enabled: boolean; why: string } {
  if (!flag) return { enabled: false, why: '--hot-reload=false' };
  if (config.features?.HotReload === false) return { enabled: false, why: 'the HotReload feature is disabled in the Configuration' };
  return { enabled: true, why: '' };
}

export function startHotReload(sources: Sources, initial: Resources, deps: ReconcilerDeps): HotReload {
  const log = scoped(deps.log, 'dapr.runtime.hotreload');
  const reader = new ResourceReader(sources, initial, log);
  const reconciler = new Reconciler(deps, initial);
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;
  const reload = () => {
    const run = queue.then(async () => {
      if (closed) return undefined;
      const summary = await reconciler.reconcile(reader.read());
      const counts = Object.entries(summary).filter(([, names]) => names.length > 0).map(([what, names]) => `${what} ${names.join(', ')}`);
      if (counts.length > 0) log.info(`hot reload done: components ${counts.join('; ')}`);
      return summary;
    });
    queue = run.catch((e: unknown) => log.error(`hot reload failed: ${(e as Error).stack ?? String(e)}`));
    return run;
  };
  const watcher = watchResources(
    { dirs: sources.resourcesPaths, files: [...sources.configFiles, ...(sources.layottoFile ? [sources.layottoFile] : [])] },
    (paths) => {
      log.info(`resources changed: ${paths.join(', ')}`);
      void reload().catch(() => undefined);
    },
    (e) => log.warn(`watching the resources failed: ${e.message}`),
  );
  return {
    ready: watcher.ready,
    reload,
    close: async () => {
      closed = true;
      await watcher.close();
      await queue;
      await reconciler.close();
    },
  };
}
