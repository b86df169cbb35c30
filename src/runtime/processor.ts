// One pipeline turns a manifest into a live component: pick the registry by spec.type prefix,
// create, resolve metadata, init (bounded by initTimeout), store. Close reverses it.
// Hot reload (a later issue) reuses apply() and remove().
import type { Logger } from 'pino';
import { registries } from '../components/builtin';
import { withDeadline } from '../components/common/deadline';
import { parseDuration } from '../components/metadata';
import type { ComponentStore, Kind, LiveComponent } from '../components/store';
import { ComponentConfigError, type Component, type ComponentMetadata } from '../components/types';
import { withConsumerId } from '../components/pubsub/metadata';
import type { LoadedComponent } from './loader';
import type { ComponentMetrics } from '../observability/metrics';
import type { ComponentManifest } from './manifest';
import { ManifestError } from './loader';
import { MetadataResolveError, resolveMetadata, type SecretResolver } from './metadata';

const DEFAULT_INIT_TIMEOUT_MS = 5000;
const CLOSE_AFTER_FAILED_INIT_MS = 2000;

/** spec.type prefixes this build serves, and the Dapr/Layotto ones that later issues add. */
const KIND_BY_PREFIX: Record<string, Kind> = { state: 'state', hello: 'hello', secretstores: 'secretstores', lock: 'lock', configuration: 'configuration', sequencer: 'sequencer', pubsub: 'pubsub', bindings: 'bindings', file: 'file' };
const LATER_KINDS = ['middleware', 'nameresolution', 'crypto', 'conversation', 'workflow'];

export interface ProcessorOptions {
  appId: string;
  namespace: string;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  secrets?: SecretResolver;
  /** dapr_runtime_component_loaded / _init_total / _init_fail_total. */
  metrics?: Pick<ComponentMetrics, 'componentLoaded' | 'componentInitFailed'>;
}

/** A component left out by ignoreErrors: its kind (spec.type's prefix), name, type and why. */
export interface SkippedComponent {
  kind: string;
  name: string;
  type: string;
  reason: string;
}

export class ComponentProcessor {
  /** secretKeyRef over the secret stores loaded so far (daprd resolves with the store itself, no scopes). */
  readonly secretResolver: SecretResolver = {
    resolve: async (storeName, name, key) => {
      const c = this.store.get('secretstores', storeName);
      if (!c) throw new Error(`secret store ${storeName} is not loaded`);
      const data = await c.instance.getSecret({ name, metadata: {} });
      if (!(key in data)) throw new Error(`secret ${name} in secret store ${storeName} has no key ${key}`);
      return data[key]!;
    },
  };

  /**
   * Components skipped because their init failed under ignoreErrors. daprd logs and skips them for
   * good (no retry, not in /v1.0/metadata); the actuator's readiness reports them DOWN with the reason.
   */
  readonly skipped: SkippedComponent[] = [];

  constructor(
    private readonly store: ComponentStore,
    private readonly opts: ProcessorOptions,
  ) {}

  /**
   * Applies every manifest, secret stores first (daprd does, so other components' secretKeyRefs
   * can resolve), otherwise in order; a failure stops unless the manifest sets ignoreErrors.
   */
  async applyAll(items: LoadedComponent[]): Promise<void> {
    const isSecretStore = (i: LoadedComponent) => i.manifest.spec.type.toLowerCase().startsWith('secretstores.');
    for (const item of [...items.filter(isSecretStore), ...items.filter((i) => !isSecretStore(i))]) {
      try {
        await this.apply(item);
      } catch (e) {
        if (!item.manifest.spec.ignoreErrors) throw e;
        const { name } = item.manifest.metadata;
        const { type } = item.manifest.spec;
        const reason = e instanceof ManifestError ? e.reason : (e as Error).message;
        this.skipped.push({ kind: type.slice(0, type.indexOf('.')).toLowerCase(), name, type, reason });
        this.opts.log.warn({ component: name }, `ignoring component error (ignoreErrors), component ${name} is not loaded and not retried: ${(e as Error).message}`);
      }
    }
  }

  /** Creates, inits and stores one component; returns undefined when scopes or kind skip it. */
  async apply(item: LoadedComponent): Promise<LiveComponent | undefined> {
    const { manifest: m, file, lineOf } = item;
    const { name } = m.metadata;
    const log = this.opts.log;
    const skip = skipReason(m, this.opts.appId, this.opts.namespace);
    if (skip) {
      log.debug({ component: name }, `component ${name} ${skip}; skipping`);
      return undefined;
    }
    const dot = m.spec.type.indexOf('.');
    const prefix = m.spec.type.slice(0, dot).toLowerCase();
    const impl = m.spec.type.slice(dot + 1);
    const kind = KIND_BY_PREFIX[prefix];
    const where = `${file}:${lineOf(['spec', 'type'])}`;
    // Middleware components become filters when a pipeline names them (runtime/pipeline.ts).
    if (prefix === 'middleware') return undefined;
    if (!kind) {
      if (LATER_KINDS.includes(prefix)) {
        log.warn({ component: name }, `component ${name} (${m.spec.type}) skipped: ${prefix} components are not supported yet`);
        return undefined;
      }
      throw new ManifestError(file, lineOf(['spec', 'type']), 'spec.type', `unknown building block "${prefix}" in component type ${m.spec.type}`);
    }
    const registry = registries[kind];
    const reg = registry.find(impl, m.spec.version);
    if (!reg) {
      this.opts.metrics?.componentInitFailed(m.spec.type, name, 'creation');
      const version = m.spec.version || 'v1';
      throw new ManifestError(file, lineOf(['spec', 'type']), 'spec.type', `couldn't find component type ${m.spec.type}/${version} (known: ${registry.names().join(', ')})`);
    }
    if (this.store.get(kind, name)) {
      throw new ManifestError(file, item.line, 'metadata.name', `a ${kind} component named "${name}" is already loaded`);
    }

    let properties = await this.properties(item);
    if (kind === 'pubsub') properties = withConsumerId(properties, { appId: this.opts.appId, namespace: this.opts.namespace });
    const meta: ComponentMetadata = {
      name,
      type: m.spec.type,
      version: m.spec.version || reg.version,
      properties,
      appId: this.opts.appId,
      namespace: m.metadata.namespace ?? this.opts.namespace,
    };
    const instance = reg.factory();
    let timeoutMs = DEFAULT_INIT_TIMEOUT_MS;
    if (m.spec.initTimeout) {
      try {
        timeoutMs = parseDuration(m.spec.initTimeout);
      } catch (e) {
        throw new ManifestError(file, lineOf(['spec', 'initTimeout']), 'spec.initTimeout', (e as Error).message);
      }
    }
    try {
      await withDeadline(instance.init(meta), timeoutMs, () => new Error(`init did not finish within ${m.spec.initTimeout ?? '5s'}`));
    } catch (e) {
      // Bounded: a component whose backend hangs may hang its close too, and startup must go on (or fail).
      await withDeadline(instance.close(), CLOSE_AFTER_FAILED_INIT_MS, () => new Error('close timed out')).catch(() => undefined);
      this.opts.metrics?.componentInitFailed(m.spec.type, name, 'init');
      const field = e instanceof ComponentConfigError && e.field ? `spec.metadata.${e.field}` : 'spec';
      const line = e instanceof ComponentConfigError && e.field ? lineOfMetadata(item, e.field) : item.line;
      throw new ManifestError(file, line, field, `component ${name} (${m.spec.type}/${meta.version}) failed to initialize: ${(e as Error).message}`);
    }
    const live: LiveComponent = { kind, name, meta, instance, capabilities: capabilitiesOf(kind, instance, properties) } as LiveComponent;
    this.store.add(live);
    this.opts.metrics?.componentLoaded(m.spec.type);
    log.info({ component: name }, `component loaded: ${name} (${m.spec.type}/${meta.version}) from ${where}`);
    return live;
  }

  /** A manifest's spec.metadata as name -> value (envRef, secretKeyRef resolved); errors name the entry. */
  async properties(item: LoadedComponent): Promise<Record<string, string>> {
    const m = item.manifest;
    try {
      return await resolveMetadata(m.spec.metadata, {
        env: this.opts.env ?? process.env,
        secretStore: m.auth?.secretStore,
        secrets: this.opts.secrets ?? this.secretResolver,
      });
    } catch (e) {
      if (e instanceof MetadataResolveError) {
        throw new ManifestError(item.file, item.lineOf(['spec', 'metadata', e.index]), `spec.metadata[${e.index}]`, e.message);
      }
      throw e;
    }
  }

  /** Closes and removes one component. */
  async remove(kind: Kind, name: string): Promise<void> {
    const c = this.store.remove(kind, name);
    if (c) await (c.instance as Component).close();
  }

  /** Closes every component, logging (not throwing) failures. */
  async closeAll(): Promise<void> {
    for (const c of this.store.list()) {
      try {
        await this.remove(c.kind, c.name);
      } catch (e) {
        this.opts.log.warn({ component: c.name }, `error closing component: ${(e as Error).message}`);
      }
    }
  }
}

function capabilitiesOf(kind: Kind, instance: Component, props: Record<string, string>): string[] {
  const caps = [...instance.features()];
  const actor = Object.entries(props).find(([k]) => k.toLowerCase() === 'actorstatestore')?.[1];
  if (kind === 'state' && actor === 'true') caps.push('ACTOR');
  return caps;
}

/** Why this app does not load a manifest (its scopes or namespace), or undefined when it does. */
export function skipReason(m: ComponentManifest, appId: string, namespace: string): string | undefined {
  if (m.scopes.length > 0 && !m.scopes.includes(appId)) return `is scoped to ${m.scopes.join(',')}, not app ${appId}`;
  if (m.metadata.namespace && namespace && m.metadata.namespace !== namespace) return `is in namespace ${m.metadata.namespace}`;
  return undefined;
}

/** The line of one spec.metadata entry (by name), for errors about a metadata field. */
export function lineOfMetadata(item: LoadedComponent, field: string): number {
  const i = item.manifest.spec.metadata.findIndex((m) => m.name.toLowerCase() === field.toLowerCase());
  return i >= 0 ? item.lineOf(['spec', 'metadata', i]) : item.lineOf(['spec', 'metadata']);
}
