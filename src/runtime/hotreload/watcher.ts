// Watches the resources directories and the Configuration / config.json files (chokidar) and
// calls back once a burst of changes has settled. Directories are watched rather than the files
// themselves: editors save by writing a temporary file and renaming it over the original, which
// a watch on the file itself would lose; chokidar's `atomic` folds that unlink/add into a change.
import { dirname, extname, resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

const DEBOUNCE_MS = 100;

export interface WatchTargets {
  /** --resources-path directories: every *.yaml / *.yml directly inside. */
  dirs: string[];
  /** Single files: --config files and Layotto's config.json. */
  files: string[];
}

export interface Watcher {
  /** Resolves once the initial scan is done (changes after it are reported). */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** Calls `onChange` with the paths that changed, DEBOUNCE_MS after the last change of a burst. */
export function watchResources(targets: WatchTargets, onChange: (paths: string[]) => void, onError: (e: Error) => void, debounceMs = DEBOUNCE_MS): Watcher {
  const dirs = new Set(targets.dirs.map((d) => resolve(d)));
  const files = new Set(targets.files.map((f) => resolve(f)));
  const relevant = (path: string) => {
    const p = resolve(path);
    if (files.has(p)) return true;
    const ext = extname(p).toLowerCase();
    return (ext === '.yaml' || ext === '.yml') && dirs.has(dirname(p));
  };
  const watcher: FSWatcher = watch([...new Set([...dirs, ...[...files].map((f) => dirname(f))])], {
    ignoreInitial: true,
    depth: 0,
    atomic: true,
    // A file written in several chunks is read once it stopped growing.
    awaitWriteFinish: { stabilityThreshold: 50, pollInterval: 20 },
  });
  let pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  watcher.on('all', (_event, path) => {
    if (!relevant(path)) return;
    pending.add(resolve(path));
    clearTimeout(timer);
    timer = setTimeout(() => {
      const paths = [...pending];
      pending = new Set();
      onChange(paths);
    }, debounceMs);
  });
  watcher.on('error', (e) => onError(e as Error));
  const ready = new Promise<void>((r) => watcher.once('ready', () => r()));
  return {
    ready,
    close: async () => {
      clearTimeout(timer);
      await watcher.close();
    },
  };
}
