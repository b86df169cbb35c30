// Watches the .wasm files the running functions were loaded from (chokidar) and, once a burst of
// writes settled, updates every function loaded from a changed file with the file's new bytes. The
// host brings the new instances up before it drains the old ones, so a file that does not load (a
// half-written or broken module, a deleted file) is logged and the running function keeps serving.
// Directories are watched rather than the files, as in ./watcher.ts: a compiler or editor that
// writes a temporary file and renames it over the module replaces the file a watch would be on.
import { dirname, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from 'pino';
import type { FunctionHost } from '../../faas/types';

const DEBOUNCE_MS = 100;

export interface ModuleWatch {
  /** Watches exactly the files the host's functions run from now (call after install/update/uninstall). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** The directories to watch and the module files that count, for the functions the host runs. */
export function moduleTargets(functions: readonly { path: string }[]): { dirs: Set<string>; files: Set<string> } {
  const files = new Set(functions.map((f) => resolve(f.path)));
  return { dirs: new Set([...files].map((f) => dirname(f))), files };
}

export function watchModules(host: FunctionHost, log: Logger, debounceMs = DEBOUNCE_MS): ModuleWatch {
  let watcher: FSWatcher | undefined;
  let watched = new Set<string>();
  let files = new Set<string>();
  let pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  /** Settles the first scan's wait, also when closed before the scan finished. */
  let scanned: (() => void) | undefined;

  const reload = async (path: string) => {
    for (const fn of host.list().filter((f) => resolve(f.path) === path)) {
      // No patch fields: the function's current spec, its module read again.
      await host.update({ id: fn.id }).then(
        () => log.info({ function: fn.id }, `function ${fn.id}: module ${path} changed; the new module is serving`),
        (e: unknown) => log.error({ function: fn.id }, `function ${fn.id}: module ${path} changed but did not load, the running one keeps serving: ${(e as Error).message}`),
      );
    }
  };

  const onEvent = (path: string) => {
    const p = resolve(path);
    if (!files.has(p)) return;
    pending.add(p);
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (closed) return;
      const paths = [...pending];
      pending = new Set();
      for (const changed of paths) void reload(changed);
    }, debounceMs);
  };

  return {
    async sync() {
      if (closed) return;
      const targets = moduleTargets(host.list());
      files = targets.files;
      const add = [...targets.dirs].filter((d) => !watched.has(d));
      const drop = [...watched].filter((d) => !targets.dirs.has(d));
      watched = targets.dirs;
      if (!watcher) {
        if (add.length === 0) return;
        watcher = watch(add, {
          ignoreInitial: true,
          depth: 0,
          atomic: true,
          // A module written in several chunks is read once it stopped growing.
          awaitWriteFinish: { stabilityThreshold: 50, pollInterval: 20 },
        });
        watcher.on('all', (_event, path) => onEvent(path));
        watcher.on('error', (e) => log.warn(`watching the function modules failed: ${(e as Error).message}`));
        await new Promise<void>((r) => {
          scanned = r;
          watcher!.once('ready', () => r());
        });
        return;
      }
      if (drop.length > 0) watcher.unwatch(drop);
      if (add.length > 0) watcher.add(add);
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      scanned?.();
      await watcher?.close();
    },
  };
}
