// Re-reads the resources for a reload, file by file: a file that does not parse keeps the
// resources it had before (the whole file, not just the broken document) and the reason is
// logged with file and line; a file that went away takes its resources with it. The Configuration
// files and Layotto's config.json are read whole the same way: a broken one keeps the old.
import pino, { type Logger } from 'pino';
import { loadConfiguration, type RuntimeConfiguration } from '../../config/configuration';
import { listManifestFiles, loadFile, loadResources, type LoadResult, ManifestError } from '../loader';
import { type LayottoConfig, loadLayottoConfig } from '../layotto-config';

export interface Resources {
  loaded: LoadResult;
  configuration: RuntimeConfiguration;
  layotto?: LayottoConfig;
}

export interface Sources {
  resourcesPaths: string[];
  configFiles: string[];
  layottoFile?: string;
}

const silent = pino({ level: 'silent' });
/** A LoadResult with nothing in it, whatever lists the loader has (from loading no directory). */
const empty = (): LoadResult => loadResources([], silent);

/** One LoadResult per file, from the result of loading them all (every entry names its file). */
export function byFile(all: LoadResult): Map<string, LoadResult> {
  const out = new Map<string, LoadResult>();
  const of = (file: string) => out.get(file) ?? out.set(file, empty()).get(file)!;
  for (const [name, list] of Object.entries(all) as [keyof LoadResult, { file: string }[]][]) for (const item of list) (of(item.file)[name] as unknown[]).push(item);
  return out;
}

function merge(results: Iterable<LoadResult>): LoadResult {
  const out = empty();
  for (const r of results) for (const [name, list] of Object.entries(r) as [keyof LoadResult, unknown[]][]) (out[name] as unknown[]).push(...list);
  return out;
}

export class ResourceReader {
  private files: Map<string, LoadResult>;

  constructor(
    private readonly sources: Sources,
    private current: Resources,
    private readonly log: Logger,
  ) {
    // config.json's components are kept apart: they come and go with that file.
    const yamlOnly = { ...current.loaded, components: current.loaded.components.filter((c) => c.file !== sources.layottoFile) };
    this.files = byFile(yamlOnly);
  }

  /** Reads everything again; what could not be read stays as it was. */
  read(): Resources {
    const files = new Map<string, LoadResult>();
    let names: string[];
    try {
      names = listManifestFiles(this.sources.resourcesPaths);
    } catch (e) {
      this.reject(e, 'the resources stay as they were');
      names = [...this.files.keys()];
    }
    for (const file of names) {
      const result = empty();
      try {
        loadFile(file, this.log, result);
        files.set(file, result);
        const before = new Set(this.files.get(file)?.ignored.map((e) => e.message));
        for (const e of result.ignored) if (!before.has(e.message)) this.log.warn(`ignoring invalid resource (ignoreErrors): ${e.message}`);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted while listing
        this.reject(e, `the resources of ${file} stay as they were`);
        const before = this.files.get(file);
        if (before) files.set(file, before);
      }
    }
    this.files = files;
    let configuration = this.current.configuration;
    try {
      configuration = loadConfiguration(this.sources.configFiles);
    } catch (e) {
      this.reject(e, 'the Configuration stays as it was');
    }
    let layotto = this.current.layotto;
    if (this.sources.layottoFile) {
      try {
        layotto = loadLayottoConfig(this.sources.layottoFile);
      } catch (e) {
        this.reject(e, `the components of ${this.sources.layottoFile} stay as they were`);
      }
    }
    const loaded = merge(files.values());
    loaded.components.push(...(layotto?.components ?? []));
    this.current = { loaded, configuration, layotto };
    return this.current;
  }

  private reject(e: unknown, outcome: string): void {
    const why = e instanceof ManifestError ? e.message : (e as Error).message;
    this.log.error(`hot reload: invalid resource, not applied: ${why}; ${outcome}`);
  }
}
