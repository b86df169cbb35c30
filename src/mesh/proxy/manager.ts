// Builds the proxy from its MeshProxy resources: clusters first (names unique across every
// resource, so a route may name a cluster of another one), then each listener's routes, filter
// chain and server; then binds the listeners. Anything wrong is a ProxyConfigError naming the
// resource and the field, and whatever was built by then is released.
import type { Logger } from 'pino';
import { FilterChain } from '../chain';
import type { Filter } from '../filter';
import type { FilterContext, FilterRegistry } from '../registry';
import { AppCluster, AppForwarder, type AppInvoke } from './app-cluster';
import type { ClusterConfig, ListenerConfig, MeshProxyManifest } from './config';
import type { Cluster, ClusterFactory, PolicyLookup } from './cluster/types';
import { checkRefs } from './cluster/plan';
import { formatAddress } from './cluster/endpoint';
import { ProxyConfigError } from './errors';
import { H2Forwarder } from './forward-h2';
import { Http1Forwarder } from './forward-http1';
import type { ProxyListener } from './listener';
import { HttpListener } from './listener-http';
import { TcpListener } from './listener-tcp';
import { type ClusterEntry, HttpFlow, prefixRewriter, type RouteTarget, type WeightedSplit } from './request-flow';
import { Router } from './router';
import { hostPort, type ProxySnapshot, routeSnapshot } from './snapshot';
import type { Forwarder } from './upstream';

export interface MeshProxyDeps {
  createCluster: ClusterFactory;
  /** Named policies of the loaded Resiliency resources (a route's or cluster's `resiliency` refs). */
  policies: PolicyLookup;
  log: Logger;
  filters: { registry: FilterRegistry; context: FilterContext };
  /** Service invocation, for appId clusters (none: such clusters are a configuration error). */
  invokeApp?: AppInvoke;
  /** An observing filter put first in every http listener's chain (the dashboard's recorder). */
  observer?: Filter;
}

interface BuiltListener {
  listener: ProxyListener;
  router?: Router;
  /** http listeners: the flow new requests take. */
  flow?: HttpFlow;
  filters: Filter[];
  /** The filter specs as JSON: an update with the same ones keeps the instances (and their state, e.g. rate-limit buckets). */
  filterKey: string;
  filterTypes: string[];
}

class ClusterHandle implements ClusterEntry {
  readonly app: boolean;
  private h1?: Forwarder;
  private h2?: Forwarder;

  constructor(
    readonly cluster: Cluster,
    /** The configuration it was built from (EDS updates swap the endpoints in it). */
    public config: ClusterConfig,
    private readonly invoke: AppInvoke | undefined,
  ) {
    this.app = config.appId !== undefined;
  }

  forwarder(h2: boolean): Forwarder {
    if (this.app) return (this.h1 ??= new AppForwarder(this.invoke!));
    const useH2 = this.config.protocol === 'h2c' || (this.config.protocol === 'auto' && h2);
    return useH2 ? (this.h2 ??= new H2Forwarder(this.config)) : (this.h1 ??= new Http1Forwarder(this.config));
  }

  /** New endpoints in place (EDS): the cluster takes them, pools to endpoints that left drain. */
  setEndpoints(config: ClusterConfig): void {
    this.cluster.setEndpoints!(config);
    this.config = config;
    const addresses = new Set(config.endpoints.map((e) => formatAddress(e.host, e.port)));
    this.h1?.retain?.(addresses);
    this.h2?.retain?.(addresses);
  }

  close(): void {
    this.h1?.close();
    this.h2?.close();
    this.cluster.close();
  }
}

/** An update's clusters before they go live: the map the routes resolve against, what was built, what changes in place, what goes. */
interface StagedClusters {
  next: Map<string, ClusterHandle>;
  created: ClusterHandle[];
  endpoints: [ClusterHandle, ClusterConfig][];
  retired: ClusterHandle[];
}

/** An update's listener: one kept on its socket with new routes/filters/cluster, or one to bind. */
type StagedListener =
  | { kind: 'keep'; old: BuiltListener; config: ListenerConfig; built: BuiltListener; tcpCluster?: Cluster; newFilters: boolean }
  | { kind: 'bind'; config: ListenerConfig; built: BuiltListener; r: number; path: (string | number)[]; after?: BuiltListener };

/** How long replaced clusters, filters and removed listeners wait for the requests they carry. */
export const DRAIN_MS = 30_000;

const withoutEndpoints = (c: ClusterConfig): string => JSON.stringify({ ...c, endpoints: undefined });
const sameSocket = (a: ListenerConfig, b: ListenerConfig): boolean => a.protocol === b.protocol && a.address.host === b.address.host && a.address.port === b.address.port;

/** Records where each name is defined; a second definition is an error at its `name` field. */
function claim(owners: Map<string, string>, kind: string, name: string, owner: string, r: number, path: (string | number)[]): void {
  const seen = owners.get(name);
  if (seen) throw new ProxyConfigError([...path, 'name'], `${kind} name "${name}" is already used by ${seen}`, r);
  owners.set(name, owner);
}

/** Raises `e` as a ProxyConfigError of resource `r` at `path` (keeping one that already is one). */
function at(r: number, path: (string | number)[], e: unknown): ProxyConfigError {
  if (e instanceof ProxyConfigError) {
    if (e.resource < 0) e.resource = r;
    return e;
  }
  return new ProxyConfigError(path, (e as Error)?.message ?? String(e), r);
}

export class MeshProxyManager {
  private clusters = new Map<string, ClusterHandle>();
  private readonly listeners = new Map<string, BuiltListener>();
  /** Removed listeners still finishing their connections, and what waits for old flows to drain. */
  private readonly draining = new Set<ProxyListener>();
  private readonly retiring = new Set<() => void>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: MeshProxyDeps) {}

  /** Builds and binds everything; on failure releases what it built and throws a ProxyConfigError. */
  async start(resources: readonly MeshProxyManifest[]): Promise<void> {
    try {
      await this.update(resources);
    } catch (e) {
      await this.stop(0);
      throw e;
    }
  }

  /**
   * Applies a whole new set of resources (one update at a time). Everything is built and checked
   * before anything changes, so a ProxyConfigError leaves the running proxy as it was; then
   * unchanged clusters stay as they are (pools, health, ejections), endpoint-only changes are made
   * in place, changed clusters are replaced and the old ones drained, listeners on the same
   * socket take their new routes and filters for new requests, others are bound or closed.
   */
  update(resources: readonly MeshProxyManifest[]): Promise<void> {
    const run = this.queue.then(() => this.apply(resources));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The bound port of each listener by name. */
  ports(): Record<string, number> {
    return Object.fromEntries([...this.listeners.values()].map((b) => [b.listener.config.name, b.listener.port]));
  }

  snapshot(): ProxySnapshot {
    return {
      listeners: [...this.listeners.values()].map(({ listener, router, filterTypes }) => {
        const c = listener.config;
        return {
          name: c.name,
          address: hostPort(c.address.host, listener.port),
          protocol: c.protocol,
          ...(c.forwardProxy && { forwardProxy: true }),
          ...(c.protocol === 'tcp' && { cluster: c.cluster }),
          routes: router ? router.routes.map(routeSnapshot) : [],
          filters: filterTypes,
          stats: { ...listener.stats },
        };
      }),
      clusters: [...this.clusters.values()].map((h) => h.cluster.snapshot()),
    };
  }

  async stop(graceMs: number): Promise<void> {
    const listeners = [...this.listeners.values()];
    for (const l of this.draining) l.cut();
    this.draining.clear();
    await Promise.all(listeners.map((b) => b.listener.close(graceMs)));
    for (const h of this.clusters.values()) h.close();
    for (const retire of [...this.retiring]) retire();
    await Promise.all(listeners.flatMap((b) => b.filters.map((f) => f.close?.().catch(() => undefined))));
    this.listeners.clear();
    this.clusters.clear();
  }

  private async apply(resources: readonly MeshProxyManifest[]): Promise<void> {
    const clusters = this.stageClusters(resources);
    const staged: StagedListener[] = [];
    const bound: BuiltListener[] = [];
    try {
      const owners = new Map<string, string>();
      const holders = new Map([...this.listeners.values()].map((b) => [hostPort(b.listener.config.address.host, b.listener.port), b]));
      for (const [r, m] of resources.entries()) {
        for (const [i, l] of m.spec.listeners.entries()) {
          const path = ['spec', 'listeners', i];
          claim(owners, 'listener', l.name, `MeshProxy ${m.metadata.name}`, r, path);
          const old = this.listeners.get(l.name);
          const keep = old !== undefined && sameSocket(old.listener.config, l);
          const reuse = keep && old.filterKey === JSON.stringify(l.filters) ? old.filters : undefined;
          const built = await this.buildListener(l, path, clusters.next, reuse, keep ? old : undefined).catch((e: unknown) => Promise.reject(at(r, path, e)));
          if (keep) {
            staged.push({ kind: 'keep', old, config: l, built, tcpCluster: l.protocol === 'tcp' ? clusters.next.get(l.cluster!)!.cluster : undefined, newFilters: reuse === undefined });
            continue;
          }
          // A fixed port held by a listener this update closes is bound once that one stopped listening.
          const holder = l.address.port === 0 ? undefined : holders.get(hostPort(l.address.host, l.address.port));
          staged.push({ kind: 'bind', config: l, built, r, path, after: holder });
        }
      }
      for (const s of staged) {
        // A holder that stays on its socket keeps the port: binding now fails with the clear error.
        if (s.kind === 'bind' && s.after && staged.some((k) => k.kind === 'keep' && k.old === s.after)) s.after = undefined;
        if (s.kind !== 'bind' || s.after) continue;
        await s.built.listener.start().catch((e: unknown) => Promise.reject(at(s.r, [...s.path, 'address'], e)));
        bound.push(s.built);
      }
    } catch (e) {
      // Nothing went live: release what this update built, keep the running config.
      await Promise.all(bound.map((b) => b.listener.close(0)));
      for (const s of staged) if (s.kind === 'bind' || s.newFilters) await closeFilters(s.built.filters);
      for (const h of clusters.created) h.close();
      throw e;
    }
    await this.commit(clusters, staged);
  }

  private async commit(clusters: StagedClusters, staged: StagedListener[]): Promise<void> {
    const oldFlows: HttpFlow[] = [];
    const oldFilters: Filter[] = [];
    for (const [h, c] of clusters.endpoints) h.setEndpoints(c);
    this.clusters = clusters.next;
    const names = new Set(staged.map((s) => s.config.name));
    const next = new Map<string, BuiltListener>();
    const closing: BuiltListener[] = [];
    for (const [name, b] of this.listeners) {
      const s = staged.find((x) => x.config.name === name);
      if (!names.has(name) || s?.kind === 'bind') closing.push(b);
    }
    for (const b of closing) {
      if (b.flow) oldFlows.push(b.flow);
      oldFilters.push(...b.filters);
      this.draining.add(b.listener);
      void b.listener.close(DRAIN_MS).finally(() => this.draining.delete(b.listener));
      this.deps.log.info(`mesh proxy listener ${b.listener.config.name} closing (removed or rebound)`);
    }
    for (const s of staged) {
      if (s.kind === 'keep') {
        const l = s.old.listener;
        if (l instanceof HttpListener) {
          oldFlows.push(s.old.flow!);
          l.reconfigure(s.config, s.built.flow!);
        } else if (l instanceof TcpListener) l.reconfigure(s.config, s.tcpCluster!);
        if (s.newFilters) oldFilters.push(...s.old.filters);
        next.set(s.config.name, { ...s.built, listener: l });
        continue;
      }
      if (s.after) {
        try {
          await bindRetrying(s.built.listener);
        } catch (e) {
          await closeFilters(s.built.filters);
          this.deps.log.error(`mesh proxy listener ${s.config.name}: ${(e as Error).message}`);
          throw at(s.r, [...s.path, 'address'], e);
        }
      }
      next.set(s.config.name, s.built);
      const l = s.config;
      this.deps.log.info(`mesh proxy listener ${l.name} (${l.protocol}${l.forwardProxy ? ', forward proxy' : ''}) on ${hostPort(l.address.host, s.built.listener.port)}`);
    }
    this.listeners.clear();
    for (const [k, v] of next) this.listeners.set(k, v);
    if (clusters.retired.length > 0 || oldFilters.length > 0) this.retireWhenDrained(oldFlows, clusters.retired, oldFilters);
  }

  /** Closes replaced clusters and filters once the flows that used them finished their requests (or after DRAIN_MS). */
  private retireWhenDrained(flows: HttpFlow[], handles: ClusterHandle[], filters: Filter[]): void {
    const deadline = Date.now() + DRAIN_MS;
    let timer: NodeJS.Timeout | undefined;
    const retire = () => {
      clearInterval(timer);
      this.retiring.delete(retire);
      for (const h of handles) h.close();
      void closeFilters(filters);
    };
    this.retiring.add(retire);
    const check = () => {
      if (Date.now() >= deadline || flows.every((f) => f.pending === 0)) retire();
    };
    timer = setInterval(check, 50).unref();
    check();
  }

  /** The update's cluster map: unchanged handles kept, endpoint-only changes noted, the rest built anew. */
  private stageClusters(resources: readonly MeshProxyManifest[]): StagedClusters {
    const staged: StagedClusters = { next: new Map(), created: [], endpoints: [], retired: [] };
    const owners = new Map<string, string>();
    try {
      for (const [r, m] of resources.entries()) {
        for (const [i, c] of m.spec.clusters.entries()) {
          const path = ['spec', 'clusters', i];
          claim(owners, 'cluster', c.name, `MeshProxy ${m.metadata.name}`, r, path);
          const old = this.clusters.get(c.name);
          if (old && JSON.stringify(old.config) === JSON.stringify(c)) {
            staged.next.set(c.name, old);
            continue;
          }
          if (old && old.cluster.setEndpoints && withoutEndpoints(old.config) === withoutEndpoints(c)) {
            staged.next.set(c.name, old);
            staged.endpoints.push([old, c]);
            continue;
          }
          const h = this.buildCluster(c, r, path);
          staged.created.push(h);
          staged.next.set(c.name, h);
        }
      }
    } catch (e) {
      for (const h of staged.created) h.close();
      throw e;
    }
    for (const [name, h] of this.clusters) if (staged.next.get(name) !== h) staged.retired.push(h);
    return staged;
  }

  private buildCluster(c: ClusterConfig, r: number, path: (string | number)[]): ClusterHandle {
    if (c.appId !== undefined && !this.deps.invokeApp) throw new ProxyConfigError([...path, 'appId'], 'appId clusters need service invocation, which is not available here', r);
    let cluster: Cluster;
    try {
      cluster = c.appId !== undefined ? new AppCluster(c) : this.deps.createCluster(c, { policies: this.deps.policies, log: this.deps.log });
    } catch (e) {
      throw at(r, [...path, 'resiliency'], e);
    }
    return new ClusterHandle(cluster, c, this.deps.invokeApp);
  }

  private cluster(clusters: Map<string, ClusterHandle>, name: string | undefined, path: (string | number)[]): ClusterHandle {
    const h = name === undefined ? undefined : clusters.get(name);
    if (!h) throw new ProxyConfigError(path, name === undefined ? 'a cluster is required' : `no cluster named "${name}" (clusters: ${[...clusters.keys()].join(', ') || 'none'})`);
    return h;
  }

  /**
   * A listener's routes, filters and flow against `clusters`. `reuse`: the running listener's
   * filters, when the specs did not change; `kept`: the running listener this one updates in
   * place (its stats carry on, no new server is made).
   */
  private async buildListener(l: ListenerConfig, path: (string | number)[], clusters: Map<string, ClusterHandle>, reuse: Filter[] | undefined, kept: BuiltListener | undefined): Promise<BuiltListener> {
    const log = this.deps.log;
    const filterKey = JSON.stringify(l.filters);
    if (l.protocol === 'tcp') {
      if (l.routes.length > 0) throw new ProxyConfigError([...path, 'routes'], 'a tcp listener takes `cluster`, not routes');
      if (l.forwardProxy) throw new ProxyConfigError([...path, 'forwardProxy'], 'forwardProxy is for http listeners');
      if (l.filters.length > 0) throw new ProxyConfigError([...path, 'filters'], 'a tcp listener takes no filters (they are HTTP filters)');
      const h = this.cluster(clusters, l.cluster, [...path, 'cluster']);
      if (h.app) throw new ProxyConfigError([...path, 'cluster'], `cluster "${l.cluster}" is an appId cluster: a tcp listener needs endpoints`);
      return { listener: kept?.listener ?? new TcpListener(l, h.cluster, log), filters: [], filterKey, filterTypes: [] };
    }
    // An http listener's `cluster` is its default route, after the others.
    const routes = l.cluster !== undefined ? [...l.routes, { name: `${l.name}/default`, match: { host: undefined, headers: [] }, cluster: l.cluster, timeout: 15_000, requestHeaders: {} }] : l.routes;
    const router = new Router(l.name, routes, path);
    const targets: RouteTarget[] = router.routes.map((route, i) => {
      const rpath = i < l.routes.length ? [...path, 'routes', i] : [...path, 'cluster'];
      const c = route.config;
      const split = c.weightedClusters?.filter((w) => w.weight > 0);
      const entries = split ? split.map((w) => this.cluster(clusters, w.name, [...rpath, 'weightedClusters', c.weightedClusters!.indexOf(w), 'name'])) : [this.cluster(clusters, c.cluster, i < l.routes.length ? [...rpath, 'cluster'] : rpath)];
      const entry = entries[0]!;
      if (entries.length > 1 && entries.some((e) => e.app)) throw new ProxyConfigError([...rpath, 'weightedClusters'], 'weightedClusters take clusters with endpoints, not appId clusters');
      if (c.prefixRewrite !== undefined && c.match.path === undefined && c.match.pathPrefix === undefined) throw new ProxyConfigError([...rpath, 'prefixRewrite'], 'prefixRewrite needs a path or pathPrefix match');
      const problems = entry.app && (c.retries || c.resiliency) ? ['an appId cluster runs under the app\'s Resiliency policies: route retries and resiliency do not apply'] : checkRefs(this.deps.policies, c.resiliency, c.retries);
      if (problems.length > 0) throw new ProxyConfigError([...rpath, c.retries ? 'retries' : 'resiliency'], problems.join('; '));
      const retried = (c.retries !== undefined && c.retries.attempts > 0) || c.resiliency?.retry !== undefined || entries.some((e) => e.cluster.config.resiliency?.retry !== undefined);
      return { route, entry, split: entries.length > 1 ? weightedSplit(entries, split!) : undefined, replay: retried && !entry.app, rewrite: prefixRewriter(route), extraHeaders: Object.keys(c.requestHeaders).length > 0 };
    });
    const filters = reuse ?? (await this.buildFilters(l, path));
    const flow = new HttpFlow(l.name, router, targets, new FilterChain(this.deps.observer ? [this.deps.observer, ...filters] : filters), kept?.flow?.stats);
    return { listener: kept?.listener ?? new HttpListener(l, flow, log), router, flow, filters, filterKey, filterTypes: l.filters.map((f) => f.type) };
  }

  private async buildFilters(l: ListenerConfig, path: (string | number)[]): Promise<Filter[]> {
    const filters: Filter[] = [];
    for (const [k, f] of l.filters.entries()) {
      try {
        filters.push(await this.deps.filters.registry.create(f.type, f.config, this.deps.filters.context));
      } catch (e) {
        await closeFilters(filters);
        const field = this.deps.filters.registry.types().includes(f.type) ? 'config' : 'type';
        throw new ProxyConfigError([...path, 'filters', k, field], `filter ${f.type}: ${(e as Error).message}`);
      }
    }
    return filters;
  }
}

function weightedSplit(entries: ClusterEntry[], weights: { weight: number }[]): WeightedSplit {
  let total = 0;
  const upTo = weights.map((w) => (total += w.weight));
  return { entries, upTo, total };
}

async function closeFilters(filters: readonly Filter[]): Promise<void> {
  await Promise.all(filters.map((f) => f.close?.().catch(() => undefined)));
}

/** Binds a listener on a port another listener of this proxy just stopped listening on (the kernel may take a moment). */
async function bindRetrying(l: ProxyListener): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      return await l.start();
    } catch (e) {
      if (i >= 20) throw e;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
