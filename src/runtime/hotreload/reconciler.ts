// Applies a new set of resources to the running sidecar through the same pipeline as startup
// (ComponentProcessor), in daprd's order: secret stores first (other components' secretKeyRefs
// resolve through them), then the other components, then what reads them (subscriptions, input
// bindings, HTTPEndpoints, the mesh proxy, WebAssembly functions). A changed component is built and initialised beside
// the old one and swapped in only once its init succeeded; the old instance closes after the calls
// already holding it finish. Anything that fails is logged with its file and line, and what ran
// before keeps running. Settings only startup reads are logged as needing a restart.
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { ComponentStore, KINDS, type Kind } from '../../components/store';
import type { Component } from '../../components/types';
import type { RuntimeConfiguration } from '../../config/configuration';
import { buildResiliency } from '../../config/resiliency';
import type { Core } from '../../core';
import type { MeshProxy } from '../../mesh/proxy';
import { scoped } from '../../observability/logger';
import { accessControlOf } from '../access-control';
import type { AclObserver } from '../../core/invoke/acl';
import { resolveHttpEndpoints } from '../http-endpoints';
import type { LoadedComponent, LoadedMeshProxy, LoadedResiliency } from '../loader';
import { ManifestError } from '../loader';
import { FunctionReconciler } from './functions';
import { proxiesFor, updateProxy } from './proxy';
import type { Functions } from '../faas';
import { ComponentProcessor, type ProcessorOptions, skipReason } from '../processor';
import { declarativeSubscriptions } from '../subscriptions';
import { diff, keyed } from './differ';
import type { InFlight } from './inflight';
import type { Resources } from './resources';
import type { SwappableResiliency } from './resiliency';

export interface ReconcilerDeps {
  store: ComponentStore;
  /** The startup processor: its secret resolver and its list of components skipped by ignoreErrors. */
  processor: ComponentProcessor;
  processorOptions: ProcessorOptions;
  core: Core;
  appId: string;
  appProtocol: string;
  /** Counts access control decisions (the metrics'); kept across reloads. */
  aclObserver?: AclObserver;
  resiliency: SwappableResiliency;
  meshProxy: () => MeshProxy | undefined;
  /**
   * Starts the proxy for these resources with startup's wiring and makes it the sidecar's; rejects
   * with nothing left listening. Absent under xDS, whose proxy always runs.
   */
  startMeshProxy?: (resources: readonly LoadedMeshProxy[], resiliencies: readonly LoadedResiliency[]) => Promise<void>;
  /** Forgets the running proxy and stops it; resolves once its requests drained (grace period). */
  stopMeshProxy?: () => Promise<void>;
  /** The running functions host; undefined when no function ran at startup (no functions port). */
  functions?: () => Functions | undefined;
  /** Counts calls per instance; without it a retired instance closes at once. */
  inflight?: InFlight;
  /** Longest wait for a retired instance's calls before it is closed anyway. */
  drainMs: number;
  log: Logger;
}

/** Configuration fields only startup reads: a change is logged as needing a restart. */
const RESTART_FIELDS = ['nameResolution', 'httpPipeline', 'grpcPipeline', 'tracing', 'metrics', 'logging', 'mtlsEnabled'] as const;

/** A component manifest's identity: its building block (spec.type's prefix) and name. */
export function componentKey(c: LoadedComponent): string {
  const t = c.manifest.spec.type;
  return `${t.slice(0, t.indexOf('.')).toLowerCase()}/${c.manifest.metadata.name}`;
}

const blockOf = (c: LoadedComponent) => componentKey(c).split('/')[0]!;
const kindOf = (c: LoadedComponent): Kind | undefined => (KINDS as readonly string[]).includes(blockOf(c)) ? (blockOf(c) as Kind) : undefined;
const sameComponent = (a: LoadedComponent, b: LoadedComponent) => isDeepStrictEqual(a.manifest, b.manifest);
const manifests = (items: readonly { manifest?: unknown }[]) => items.map((i) => i.manifest);

/** A WasmFunction resource as the spec the host runs, and where it was declared. */

/** What one reload changed, for the caller's log line and for tests. */
export interface ReloadSummary {
  created: string[];
  updated: string[];
  deleted: string[];
  failed: string[];
}

export class Reconciler {
  /** The manifest last applied (or attempted: a failed one is not retried until it changes) per component key. */
  private applied: Map<string, LoadedComponent>;
  private readonly retiring = new Set<Promise<void>>();
  private readonly functions: FunctionReconciler;
  private readonly log: Logger;

  constructor(
    private readonly deps: ReconcilerDeps,
    private current: Resources,
  ) {
    this.applied = keyed(current.loaded.components, componentKey).map;
    this.log = scoped(deps.log, 'dapr.runtime.hotreload');
    this.functions = new FunctionReconciler(deps.appId, this.log, current.loaded.functions);
  }

  async reconcile(next: Resources): Promise<ReloadSummary> {
    const summary: ReloadSummary = { created: [], updated: [], deleted: [], failed: [] };
    this.configuration(next.configuration);
    const changed = await this.components(next.loaded.components, summary);
    await this.resiliencies(next);
    await this.httpEndpoints(next, changed.has('secretstores'));
    await this.subscriptions(next, changed.get('pubsub'));
    const bindings = changed.get('bindings');
    if (bindings) await this.deps.core.inputBindings.reload(bindings);
    await this.meshProxies(next);
    await this.functions.apply(next.loaded.functions, this.deps.functions?.());
    this.restartNeeded(next);
    this.current = { ...next, loaded: { ...next.loaded, components: [...this.applied.values()] } };
    return summary;
  }

  /** Waits for replaced instances still draining to close (shutdown). */
  async close(): Promise<void> {
    await Promise.all([...this.retiring]);
  }

  private configuration(next: RuntimeConfiguration): void {
    const old = this.current.configuration;
    if (!isDeepStrictEqual(old.secrets.scopes, next.secrets.scopes)) {
      this.deps.core.secrets.setScopes(next.secrets.scopes);
      this.log.info(`Configuration: secret scopes updated (${next.secrets.scopes.length} stores)`);
    }
    if (!isDeepStrictEqual(old.accessControl, next.accessControl)) {
      this.deps.core.invoke.setAccessControl(accessControlOf(next.accessControl, this.deps.appProtocol, this.deps.aclObserver));
      this.log.info(`Configuration: access control updated (default action ${next.accessControl?.defaultAction || '(unset)'}, ${next.accessControl?.policies?.length ?? 0} app policies)`);
    }
  }

  /** Applies created, updated and deleted components; returns the names that changed, per kind. */
  private async components(next: LoadedComponent[], summary: ReloadSummary): Promise<Map<Kind, Set<string>>> {
    const { map, duplicates } = keyed(next, componentKey);
    for (const d of duplicates) {
      const first = map.get(componentKey(d))!;
      this.log.error(`hot reload: ${d.file}:${d.line}: metadata.name: a ${blockOf(d)} component named "${d.manifest.metadata.name}" is already defined in ${first.file}:${first.line}; ignored`);
    }
    const d = diff(this.applied, map, sameComponent);
    const changed = new Map<Kind, Set<string>>();
    const mark = (c: LoadedComponent) => {
      const kind = kindOf(c);
      if (kind) (changed.get(kind) ?? changed.set(kind, new Set()).get(kind)!).add(c.manifest.metadata.name);
    };
    const isSecretStore = (c: LoadedComponent) => blockOf(c) === 'secretstores';
    for (const secretStores of [true, false]) {
      for (const o of d.deleted.filter((c) => isSecretStore(c) === secretStores)) {
        this.detected('deleted', o);
        this.remove(o);
        this.applied.delete(componentKey(o));
        summary.deleted.push(o.manifest.metadata.name);
        mark(o);
      }
      const changes = [
        ...d.updated.map((u) => ({ ...u, what: 'updated' as const })),
        ...d.created.map((n) => ({ old: undefined, next: n, what: 'created' as const })),
      ];
      for (const { old, next: n, what } of changes.filter((c) => isSecretStore(c.next) === secretStores)) {
        this.detected(what, n);
        this.applied.set(componentKey(n), n);
        if (await this.swap(old, n)) {
          summary[what].push(n.manifest.metadata.name);
          mark(n);
        } else summary.failed.push(n.manifest.metadata.name);
      }
    }
    return changed;
  }

  private detected(what: 'created' | 'updated' | 'deleted', c: LoadedComponent): void {
    this.log.info({ component: c.manifest.metadata.name }, `Detected Component has been ${what}: ${c.manifest.metadata.name} (${c.manifest.spec.type}) in ${c.file}`);
  }

  /**
   * Builds and inits the new component in a scratch store, then puts it in the live store in place
   * of the old one (if any), which is retired. False (logged) when the new one failed: the old stays.
   */
  private async swap(old: LoadedComponent | undefined, next: LoadedComponent): Promise<boolean> {
    const { name, namespace } = next.manifest.metadata;
    if (blockOf(next) === 'middleware') {
      this.log.warn({ component: name }, `component ${name} (${next.manifest.spec.type}) in ${next.file}: middleware pipelines are built at startup; the change needs a restart`);
      return false;
    }
    const opts = { ...this.deps.processorOptions, secrets: this.deps.processor.secretResolver };
    let live;
    try {
      live = await new ComponentProcessor(new ComponentStore(), opts).apply(next);
    } catch (e) {
      const why = e instanceof ManifestError ? e.message : `${next.file}:${next.line}: ${(e as Error).message}`;
      if (next.manifest.spec.ignoreErrors && !old) {
        this.skip(next, e);
        this.log.warn({ component: name }, `hot reload: ignoring component error (ignoreErrors), component ${name} is not loaded: ${why}`);
      } else {
        this.log.error({ component: name }, `hot reload: component ${name} not ${old ? 'updated, the running one keeps serving' : 'loaded'}: ${why}`);
      }
      return false;
    }
    this.unskip(next);
    if (old) {
      const before = this.remove(old, live);
      if (!live) this.log.info({ component: name }, `component ${name} removed: ${skipReason(next.manifest, this.deps.appId, namespace ?? '') ?? 'no longer loaded'}`);
      else this.log.info({ component: name }, `component updated: ${name} (${next.manifest.spec.type}/${live.meta.version})${before ? '' : ' (was not running)'}`);
    }
    if (live && !old) this.deps.store.add(live);
    return true;
  }

  /** Takes a component out of the store (or puts `replacement` in its place) and retires the old instance. */
  private remove(c: LoadedComponent, replacement?: Parameters<ComponentStore['add']>[0]): boolean {
    const kind = kindOf(c);
    this.unskip(c);
    if (!kind) {
      if (replacement) this.deps.store.add(replacement);
      return false;
    }
    const before = this.deps.store.get(kind, c.manifest.metadata.name);
    if (replacement) this.deps.store.add(replacement);
    else this.deps.store.remove(kind, c.manifest.metadata.name);
    if (!before) return false;
    if (!replacement) this.log.info({ component: before.name }, `component removed: ${before.name} (${before.meta.type}/${before.meta.version})`);
    this.retire(before.name, before.instance);
    return true;
  }

  /** Closes an instance no longer in the store once the calls holding it finished (bounded). */
  private retire(name: string, instance: Component): void {
    const p = (async () => {
      const drained = (await this.deps.inflight?.drained(instance, this.deps.drainMs)) ?? true;
      if (!drained) this.log.warn({ component: name }, `the replaced instance of ${name} still had calls in flight after ${this.deps.drainMs} ms; closing it`);
      await instance.close().catch((e: unknown) => this.log.warn({ component: name }, `error closing the replaced instance of ${name}: ${(e as Error).message}`));
    })();
    this.retiring.add(p);
    void p.finally(() => this.retiring.delete(p));
  }

  private skip(c: LoadedComponent, e: unknown): void {
    this.unskip(c);
    const reason = e instanceof ManifestError ? e.reason : (e as Error).message;
    this.deps.processor.skipped.push({ kind: blockOf(c), name: c.manifest.metadata.name, type: c.manifest.spec.type, reason });
  }

  private unskip(c: LoadedComponent): void {
    const list = this.deps.processor.skipped;
    const i = list.findIndex((s) => s.kind === blockOf(c) && s.name === c.manifest.metadata.name);
    if (i >= 0) list.splice(i, 1);
  }

  private async resiliencies(next: Resources): Promise<void> {
    const old = this.current.loaded.resiliencies;
    if (isDeepStrictEqual(manifests(old), manifests(next.loaded.resiliencies))) return;
    try {
      this.deps.resiliency.set(buildResiliency(next.loaded.resiliencies, this.deps.appId, this.log));
      this.log.info(`Resiliency policies updated (${next.loaded.resiliencies.length} resources)`);
    } catch (e) {
      this.log.error(`hot reload: Resiliency not applied, the previous policies stay: ${(e as Error).message}`);
      next.loaded.resiliencies = old;
    }
  }

  private async httpEndpoints(next: Resources, secretStoresChanged: boolean): Promise<void> {
    const old = this.current.loaded.httpEndpoints;
    if (!secretStoresChanged && isDeepStrictEqual(manifests(old), manifests(next.loaded.httpEndpoints))) return;
    try {
      this.deps.core.invoke.external.setEndpoints(await resolveHttpEndpoints(next.loaded.httpEndpoints, this.deps.store, this.deps.appId, this.log));
      this.log.info(`HTTPEndpoints updated (${next.loaded.httpEndpoints.length})`);
    } catch (e) {
      this.log.error(`hot reload: HTTPEndpoints not applied, the previous ones stay: ${(e as Error).message}`);
      next.loaded.httpEndpoints = old;
    }
  }

  private async subscriptions(next: Resources, pubsubs: Set<string> | undefined): Promise<void> {
    const same = isDeepStrictEqual(manifests(this.current.loaded.subscriptions), manifests(next.loaded.subscriptions));
    if (same && !pubsubs) return;
    if (!same) this.log.info(`Subscriptions updated (${next.loaded.subscriptions.length} resources)`);
    await this.deps.core.pubsub.subscriber.reload(declarativeSubscriptions(next.loaded.subscriptions, this.deps.appId), pubsubs ?? new Set());
  }

  private async meshProxies(next: Resources): Promise<void> {
    const old = this.current.loaded.meshProxies;
    if (isDeepStrictEqual(manifests(old), manifests(next.loaded.meshProxies))) return;
    const mine = proxiesFor(next.loaded.meshProxies, this.deps.appId).length;
    const proxy = this.deps.meshProxy();
    const { startMeshProxy, stopMeshProxy } = this.deps;
    if (!proxy) {
      if (mine === 0) return;
      if (!startMeshProxy) {
        this.log.warn('MeshProxy resources added while no mesh proxy runs: starting the proxy needs a restart');
        next.loaded.meshProxies = old;
        return;
      }
      try {
        // The Resiliency policies applied by this reload: route and cluster refs resolve against them.
        await startMeshProxy(next.loaded.meshProxies, next.loaded.resiliencies);
        this.log.info(`mesh proxy started (${mine} MeshProxy resources)`);
      } catch (e) {
        // Kept as not applied, so the next edit tries again.
        this.log.error(`hot reload: MeshProxy not applied, the mesh proxy is not started: ${(e as Error).message}`);
        next.loaded.meshProxies = old;
      }
      return;
    }
    if (mine === 0 && stopMeshProxy) {
      // Its listeners close now; shutdown (close()) waits for the requests still draining.
      const stopped = stopMeshProxy().catch((e: unknown) => this.log.warn(`error stopping the mesh proxy: ${(e as Error).message}`));
      this.retiring.add(stopped);
      void stopped.finally(() => this.retiring.delete(stopped));
      this.log.info('mesh proxy stopped: no MeshProxy resource applies to this app any more');
      return;
    }
    try {
      await updateProxy(proxy, next.loaded.meshProxies, this.deps.appId);
      this.log.info(`mesh proxy updated (${next.loaded.meshProxies.length} MeshProxy resources)`);
    } catch (e) {
      this.log.error(`hot reload: MeshProxy not applied, the running routes stay: ${(e as Error).message}`);
      next.loaded.meshProxies = old;
    }
  }

  private restartNeeded(next: Resources): void {
    const old = this.current.configuration;
    for (const field of RESTART_FIELDS) {
      if (!isDeepStrictEqual(old[field], next.configuration[field])) this.log.warn(`Configuration spec.${field === 'mtlsEnabled' ? 'mtls' : field} changed: it is read at startup only; the change needs a restart`);
    }
    if (!isDeepStrictEqual(old.features, next.configuration.features)) this.log.warn('Configuration spec.features changed: feature gates are read at startup only; the change needs a restart');
    const was = this.current.layotto;
    const now = next.layotto;
    if (was && now) {
      for (const key of ['listener', 'app', 'streamFilters'] as const) {
        if (!isDeepStrictEqual(was[key], now[key])) this.log.warn(`${now.file}: the runtime ${key === 'streamFilters' ? 'stream_filters' : key} changed: read at startup only; the change needs a restart`);
      }
    }
    // Whatever other kinds the loader reads that nothing here applies.
    for (const [list, items] of Object.entries(next.loaded) as [string, { manifest?: unknown }[]][]) {
      if (['components', 'subscriptions', 'resiliencies', 'httpEndpoints', 'meshProxies', 'functions', 'ignored'].includes(list)) continue;
      const before = (this.current.loaded as unknown as Record<string, { manifest?: unknown }[]>)[list] ?? [];
      if (!isDeepStrictEqual(manifests(before), manifests(items))) this.log.warn(`resources of the ${list} list changed: they are read at startup only; the change needs a restart`);
    }
  }
}
