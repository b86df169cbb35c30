// Layotto's config.json (`layotto-ts start -c config.json`): a MOSN config whose runtime listener
// holds a `grpc` network filter (server_name "runtime") with Layotto's `grpc_config`. Each
// component entry becomes the same LoadedComponent the YAML loader produces, so it goes through
// the one ComponentProcessor pipeline; the listener address gives the Layotto gRPC port, `app` the
// app id and the gRPC app channel. The rest is reported, one line per JSON path.
import { readFileSync } from 'node:fs';
import { isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import type { Flags } from '../../cli/flags';
import { LAYOTTO_SECTIONS } from '../../core/lifecycle';
import { type LoadedComponent, ManifestError } from '../loader';
import type { MetadataItem } from '../manifest';
import { fromLayottoEntry } from '../../faas/spec';
import type { FunctionSpec } from '../../faas/types';
import { componentEntrySchema, type ComponentEntry, faasFilterConfigSchema, grpcFilterConfigSchema, listenerSchema, mosnConfigSchema, type TypedConfig } from './schema';

type Path = (string | number)[];

export interface LayottoConfig {
  file: string;
  components: LoadedComponent[];
  /** Address of the listener whose filter chain holds the runtime `grpc` filter. */
  listener?: { host: string; port: number };
  /** grpc_config.app: the app id and where the app's gRPC AppCallback server listens (port 0: none). */
  app?: { appId?: string; port: number; host: string };
  /**
   * The runtime listener's stream_filters, in order (flowControlFilter, grpc_metric, ...): the
   * hook the mesh layer builds the Layotto gRPC server's filters from.
   */
  streamFilters: TypedConfig[];
  /**
   * WebAssembly functions: the entries of `Layotto` stream filters (paths relative to the working
   * directory, as in Layotto), the listener that carries them (the functions port) and the one
   * with the `wasm_filter` admin API; --faas-port and --faas-admin-port win (src/runtime/faas.ts).
   */
  faas?: { functions: FunctionSpec[]; listener?: { host: string; port: number }; admin?: { host: string; port: number } };
  /** Unknown or unsupported parts, one line each naming its JSON path (logged as warnings). */
  warnings: string[];
  /** Known MOSN parts this sidecar does not act on (logged as info). */
  notes: string[];
}

/** MOSN's top-level keys; only `servers` is read. */
const MOSN_TOP = ['servers', 'cluster_manager', 'admin', 'pprof', 'tracing', 'metrics', 'dynamic_resources', 'static_resources', 'close_graceful', 'inherit_old_mosnconfig', 'extends', 'wasm_global_plugins', 'third_part_codec'];
/** grpc_config sections Layotto has and this sidecar does not serve yet. */
const UNSUPPORTED_SECTIONS = ['rpcs', 'oss', 'custom_component', 'extends', 'cryption', 'email', 'phone', 'sms'];
/** Stream filters of the functions listener (its functions) and of the function admin listener. */
const FAAS_STREAM_FILTERS = ['Layotto', 'wasm_filter'];
/** Stream filters another part of the sidecar builds (rate limit, gRPC metrics). */
const KNOWN_STREAM_FILTERS = ['flowControlFilter', 'grpc_metric'];
/** Keys a component entry may have: every section's, then the section's own. */
const ENTRY_KEYS = ['type', 'metadata', 'secret_ref', 'component_ref'];
const SECTION_KEYS: Record<string, string[]> = { hellos: ['hello'], config_store: ['address', 'timeout', 'store_name', 'app_id'], sequencer: ['biggerThan'] };
const GRPC_FILTER_KEYS = ['server_name', 'grpc_config', 'graceful_stop_timeout'];
const APP_KEYS = ['app_id', 'grpc_callback_port', 'grpc_callback_host'];

/** `servers[0].listeners[1].filter_chains[0]`-style text for a path. */
export function jsonPath(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

export function loadLayottoConfig(file: string): LayottoConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ManifestError(file, 0, '', `cannot read the config file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseLayottoConfig(text, file);
}

export function parseLayottoConfig(text: string, file: string): LayottoConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    // V8 names a position only for some mistakes; the yaml parser (JSON is YAML) finds the line of most.
    const msg = (e as Error).message.replace(/ \(line \d+ column \d+\)$/, '').replace(/, (\.\.\.)?".*" is not valid JSON$/s, '');
    const pos = /at position (\d+)/.exec(msg);
    const at = pos ? Number(pos[1]) : parseDocument(text, { prettyErrors: false }).errors[0]?.pos[0];
    const line = at === undefined ? 0 : text.slice(0, at).split('\n').length;
    throw new ManifestError(file, line, '', `invalid JSON: ${msg}`);
  }
  return new Translator(text, file).run(raw);
}

/** The command line with what config.json sets; flags given on the command line win. */
export function withLayottoConfig(flags: Flags, cfg: LayottoConfig): Flags {
  const cli = new Set(flags.layottoConfig?.fromCli ?? []);
  const out = { ...flags };
  if (cfg.app?.appId && !cli.has('appId')) out.appId = cfg.app.appId;
  if (cfg.app && cfg.app.port !== 0 && !cli.has('appPort')) {
    out.appPort = cfg.app.port;
    // Layotto calls its app over gRPC; the app channel falls back to Layotto's AppCallback.
    if (!cli.has('appProtocol')) out.appProtocol = 'grpc';
    if (!cli.has('appChannelAddress')) out.appChannelAddress = cfg.app.host;
  }
  if (cfg.listener && !cli.has('layottoGrpcPort')) out.layottoGrpcPort = cfg.listener.port;
  return out;
}

class Translator {
  private readonly out: Omit<LayottoConfig, 'file'> = { components: [], streamFilters: [], warnings: [], notes: [] };
  private readonly lineOfPath: (path: Path) => number;

  constructor(
    text: string,
    private readonly file: string,
  ) {
    // JSON is YAML: the yaml parser's node ranges give each JSON path its line for messages.
    const counter = new LineCounter();
    const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: false, prettyErrors: false });
    this.lineOfPath = (path) => {
      if (doc.errors.length > 0) return 0;
      for (let n = path.length; n >= 0; n--) {
        const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
        if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
      }
      return 0;
    };
  }

  run(raw: unknown): LayottoConfig {
    const cfg = this.parse(mosnConfigSchema, raw, []);
    for (const key of Object.keys(cfg)) {
      if (key === 'servers') continue;
      if (MOSN_TOP.includes(key)) this.out.notes.push(`${key}: MOSN setting not acted on by layotto-ts`);
      else this.warn([key], 'unknown key; ignored');
    }
    let runtimeAt: Path | undefined;
    cfg.servers.forEach((server, s) =>
      server.listeners?.forEach((listener, l) => {
        const at: Path = ['servers', s, 'listeners', l];
        if (this.listener(listener, at, runtimeAt)) runtimeAt ??= at;
      }),
    );
    if (!runtimeAt) throw this.error(['servers'], 'no listener has a "grpc" filter with "server_name": "runtime"; Layotto\'s components live there');
    return { file: this.file, ...this.out };
  }

  /** Reads one listener; returns true when it is (or repeats) the runtime listener. */
  private listener(listener: z.infer<typeof listenerSchema>, at: Path, runtimeAt: Path | undefined): boolean {
    let runtime: { config: unknown; at: Path } | undefined;
    listener.filter_chains?.forEach((chain, c) =>
      chain.filters?.forEach((filter, f) => {
        const fAt = [...at, 'filter_chains', c, 'filters', f];
        if (filter.type !== 'grpc') return;
        const config = this.parse(grpcFilterConfigSchema, filter.config ?? {}, [...fAt, 'config']);
        if (config.server_name !== 'runtime') this.warn([...fAt, 'config', 'server_name'], `gRPC server "${config.server_name ?? ''}" is not known (Layotto registers "runtime"); ignored`);
        else if (runtime || runtimeAt) this.warn(fAt, `a second runtime gRPC filter; only the first (${jsonPath(runtime?.at ?? runtimeAt!)}) is served`);
        else runtime = { config, at: [...fAt, 'config'] };
      }),
    );
    const name = listener.name ? `listener "${listener.name}"` : 'listener';
    const faas = this.faasFilters(listener, at);
    if (!runtime) {
      if (!faas) this.out.notes.push(`${jsonPath(at)}: ${name} is not served (only the runtime gRPC listener is)`);
      return false;
    }
    this.address(listener, at);
    for (const [i, sf] of (listener.stream_filters ?? []).entries()) {
      if (FAAS_STREAM_FILTERS.includes(sf.type)) continue;
      this.out.streamFilters.push({ type: sf.type, config: sf.config });
      if (!KNOWN_STREAM_FILTERS.includes(sf.type)) this.warn([...at, 'stream_filters', i, 'type'], `stream filter "${sf.type}" is not supported; ignored`);
    }
    this.grpcFilter(runtime.config as z.infer<typeof grpcFilterConfigSchema>, runtime.at);
    return true;
  }

  /**
   * A listener's `Layotto` stream filter (function entries: this listener is the functions port)
   * and `wasm_filter` (this listener is the admin API); true when it has either.
   */
  private faasFilters(listener: z.infer<typeof listenerSchema>, at: Path): boolean {
    let found = false;
    for (const [i, sf] of (listener.stream_filters ?? []).entries()) {
      if (!FAAS_STREAM_FILTERS.includes(sf.type)) continue;
      const faas = (this.out.faas ??= { functions: [] });
      const where = listener.address !== undefined ? this.hostPort(listener.address, [...at, 'address']) : undefined;
      found = true;
      if (sf.type === 'wasm_filter') {
        if (where) faas.admin = where;
        continue;
      }
      if (where) faas.listener = where;
      const entries = this.parse(faasFilterConfigSchema, sf.config ?? {}, [...at, 'stream_filters', i, 'config']);
      for (const entry of Object.values(entries)) {
        if (faas.functions.some((f) => f.id === entry.name)) throw this.error([...at, 'stream_filters', i, 'config'], `function "${entry.name}" is declared twice`);
        faas.functions.push(fromLayottoEntry(entry));
      }
    }
    return found;
  }

  private hostPort(address: string, at: Path): { host: string; port: number } {
    const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
    const port = m ? Number(m[3]) : NaN;
    if (!m || port > 65535) throw this.error(at, `expected "host:port", got ${JSON.stringify(address)}`);
    return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
  }

  private address(listener: z.infer<typeof listenerSchema>, at: Path): void {
    if (listener.network === 'unix') {
      this.warn([...at, 'network'], 'unix socket listeners are not supported; the Layotto gRPC API listens on --layotto-grpc-port');
      return;
    }
    if (listener.address === undefined) return;
    this.out.listener = this.hostPort(listener.address, [...at, 'address']);
  }

  private grpcFilter(config: z.infer<typeof grpcFilterConfigSchema>, at: Path): void {
    for (const key of Object.keys(config)) if (!GRPC_FILTER_KEYS.includes(key)) this.warn([...at, key], 'unknown key; ignored');
    const grpc = config.grpc_config ?? {};
    const gAt = [...at, 'grpc_config'];
    for (const [section, value] of Object.entries(grpc)) {
      const sAt = [...gAt, section];
      if (section === 'app') continue;
      const kind = LAYOTTO_SECTIONS[section];
      if (!kind) {
        if (UNSUPPORTED_SECTIONS.includes(section)) this.warn(sAt, `the "${section}" API is not supported yet; its components are not loaded`);
        else this.warn(sAt, `unknown section; ignored (known: ${[...Object.keys(LAYOTTO_SECTIONS), 'app'].join(', ')})`);
        continue;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw this.error(sAt, 'expected an object of component name → {type, metadata}');
      for (const [name, entry] of Object.entries(value)) this.component(section, kind, name, this.parse(componentEntrySchema, entry, [...sAt, name]), [...sAt, name]);
    }
    if (grpc.app) {
      const app = grpc.app;
      for (const key of Object.keys(app)) if (!APP_KEYS.includes(key)) this.warn([...gAt, 'app', key], 'unknown key; ignored');
      this.out.app = { appId: app.app_id || undefined, port: app.grpc_callback_port ?? 0, host: app.grpc_callback_host || '127.0.0.1' };
    }
  }

  private component(section: string, kind: string, name: string, entry: ComponentEntry, at: Path): void {
    const allowed = [...ENTRY_KEYS, ...(SECTION_KEYS[section] ?? [])];
    for (const key of Object.keys(entry)) if (!allowed.includes(key)) this.warn([...at, key], 'unknown key; ignored');
    // Each metadata item remembers its JSON path, so pipeline errors point into config.json.
    const items: { item: MetadataItem; at: Path }[] = [];
    const has = (n: string) => items.some((i) => i.item.name.toLowerCase() === n.toLowerCase());
    const add = (item: MetadataItem, p: Path) => items.push({ item, at: p });
    for (const [k, v] of Object.entries(entry.metadata ?? {})) add({ name: k, value: v }, [...at, 'metadata', k]);
    if (section === 'hellos' && entry.hello !== undefined && !has('hello')) add({ name: 'hello', value: entry.hello }, [...at, 'hello']);
    if (section === 'config_store') {
      if (entry.address && !has('endpoints')) add({ name: 'endpoints', value: entry.address.join(';') }, [...at, 'address']);
      if (entry.timeout && !has('dialTimeout')) add({ name: 'dialTimeout', value: entry.timeout }, [...at, 'timeout']);
      for (const k of ['store_name', 'app_id'] as const) if (entry[k] !== undefined) this.warn([...at, k], 'not acted on (the store uses the sidecar\'s app id)');
    }
    if (section === 'sequencer') for (const [k, v] of Object.entries(entry.biggerThan ?? {})) add({ name: `biggerThan.${k}`, value: v }, [...at, 'biggerThan', k]);
    // secret_ref: read secret `key` from `store_name`, inject its `sub_key` as metadata `inject_as`.
    const stores = new Set<string>();
    entry.secret_ref?.forEach((ref, i) => {
      stores.add(ref.store_name);
      add({ name: ref.inject_as, secretKeyRef: { name: ref.key, key: ref.sub_key ?? '' } }, [...at, 'secret_ref', i]);
    });
    if (entry.component_ref?.secret_store) stores.add(entry.component_ref.secret_store);
    if (stores.size > 1) throw this.error([...at, 'secret_ref'], `every secret_ref must use one secret store, got ${[...stores].join(', ')}`);
    if (entry.component_ref?.config_store) this.warn([...at, 'component_ref', 'config_store'], 'not acted on: no component here takes a configuration store');

    const typeAt = entry.type ? [...at, 'type'] : at;
    // Early Layotto configs keyed components by type ("hellos": {"helloworld": {...}}).
    const type = `${kind}.${entry.type ?? name}`;
    this.out.components.push({
      manifest: {
        apiVersion: 'dapr.io/v1alpha1',
        kind: 'Component',
        metadata: { name },
        spec: { type, version: '', ignoreErrors: false, metadata: items.map((i) => i.item) },
        auth: stores.size === 1 ? { secretStore: [...stores][0] } : undefined,
        scopes: [],
      },
      file: this.file,
      line: this.lineOfPath(at),
      lineOf: (path) => {
        if (path[0] !== 'spec') return this.lineOfPath(at);
        if (path[1] === 'type') return this.lineOfPath(typeAt);
        if (path[1] === 'metadata' && typeof path[2] === 'number') return this.lineOfPath(items[path[2]]?.at ?? at);
        return this.lineOfPath(path[1] === 'metadata' ? [...at, 'metadata'] : at);
      },
    });
  }

  private parse<T extends z.ZodType>(schema: T, value: unknown, at: Path): z.infer<T> {
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    const issue = r.error.issues[0]!;
    throw this.error([...at, ...(issue.path as Path)], issue.message.replace(/^Invalid input: /, ''));
  }

  private warn(path: Path, message: string): void {
    this.out.warnings.push(`${this.file}:${this.lineOfPath(path)}: ${jsonPath(path)}: ${message}`);
  }

  private error(path: Path, message: string): ManifestError {
    return new ManifestError(this.file, this.lineOfPath(path), jsonPath(path), message);
  }
}
