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
import { ProxyConfigError } from './errors';
import { H2Forwarder } from './forward-h2';
import { Http1Forwarder } from './forward-http1';
import type { ProxyListener } from './listener';
import { HttpListener } from './listener-http';
import { TcpListener } from './listener-tcp';
import { type ClusterEntry, HttpFlow, prefixRewriter, type RouteTarget } from './request-flow';
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
}

interface BuiltListener {
  listener: ProxyListener;
  router?: Router;
  filters: Filter[];
  filterTypes: string[];
}

class ClusterHandle implements ClusterEntry {
  readonly app: boolean;
  private h1?: Forwarder;
  private h2?: Forwarder;

  constructor(
    readonly cluster: Cluster,
    private readonly config: ClusterConfig,
    private readonly invoke: AppInvoke | undefined,
  ) {
    this.app = config.appId !== undefined;
  }

  forwarder(h2: boolean): Forwarder {
    if (this.app) return (this.h1 ??= new AppForwarder(this.invoke!));
    const useH2 = this.config.protocol === 'h2c' || (this.config.protocol === 'auto' && h2);
    return useH2 ? (this.h2 ??= new H2Forwarder(this.config)) : (this.h1 ??= new Http1Forwarder(this.config));
  }

  close(): void {
    this.h1?.close();
    this.h2?.close();
    this.cluster.close();
  }
}

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
  private readonly clusters = new Map<string, ClusterHandle>();
  private readonly listeners: BuiltListener[] = [];

  constructor(private readonly deps: MeshProxyDeps) {}

  /** Builds and binds everything; on failure releases what it built and throws a ProxyConfigError. */
  async start(resources: readonly MeshProxyManifest[]): Promise<void> {
    try {
      this.buildClusters(resources);
      const owners = new Map<string, string>();
      for (const [r, m] of resources.entries()) {
        for (const [i, l] of m.spec.listeners.entries()) {
          const path = ['spec', 'listeners', i];
          claim(owners, 'listener', l.name, `MeshProxy ${m.metadata.name}`, r, path);
          const built = await this.buildListener(l, path).catch((e: unknown) => Promise.reject(at(r, path, e)));
          this.listeners.push(built);
          await built.listener.start().catch((e: unknown) => Promise.reject(at(r, [...path, 'address'], e)));
          this.deps.log.info(`mesh proxy listener ${l.name} (${l.protocol}${l.forwardProxy ? ', forward proxy' : ''}) on ${hostPort(l.address.host, built.listener.port)}`);
        }
      }
    } catch (e) {
      await this.stop(0);
      throw e;
    }
  }

  /** The bound port of each listener by name. */
  ports(): Record<string, number> {
    return Object.fromEntries(this.listeners.map((b) => [b.listener.config.name, b.listener.port]));
  }

  snapshot(): ProxySnapshot {
    return {
      listeners: this.listeners.map(({ listener, router, filterTypes }) => {
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
    await Promise.all(this.listeners.map((b) => b.listener.close(graceMs)));
    for (const h of this.clusters.values()) h.close();
    await Promise.all(this.listeners.flatMap((b) => b.filters.map((f) => f.close?.().catch(() => undefined))));
    this.listeners.length = 0;
    this.clusters.clear();
  }

  private buildClusters(resources: readonly MeshProxyManifest[]): void {
    const owners = new Map<string, string>();
    for (const [r, m] of resources.entries()) {
      for (const [i, c] of m.spec.clusters.entries()) {
        const path = ['spec', 'clusters', i];
        claim(owners, 'cluster', c.name, `MeshProxy ${m.metadata.name}`, r, path);
        if (c.appId !== undefined && !this.deps.invokeApp) throw new ProxyConfigError([...path, 'appId'], 'appId clusters need service invocation, which is not available here', r);
        let cluster: Cluster;
        try {
          cluster = c.appId !== undefined ? new AppCluster(c) : this.deps.createCluster(c, { policies: this.deps.policies, log: this.deps.log });
        } catch (e) {
          throw at(r, [...path, 'resiliency'], e);
        }
        this.clusters.set(c.name, new ClusterHandle(cluster, c, this.deps.invokeApp));
      }
    }
  }

  private cluster(name: string | undefined, path: (string | number)[]): ClusterHandle {
    const h = name === undefined ? undefined : this.clusters.get(name);
    if (!h) throw new ProxyConfigError(path, name === undefined ? 'a cluster is required' : `no cluster named "${name}" (clusters: ${[...this.clusters.keys()].join(', ') || 'none'})`);
    return h;
  }

  private async buildListener(l: ListenerConfig, path: (string | number)[]): Promise<BuiltListener> {
    const log = this.deps.log;
    if (l.protocol === 'tcp') {
      if (l.routes.length > 0) throw new ProxyConfigError([...path, 'routes'], 'a tcp listener takes `cluster`, not routes');
      if (l.forwardProxy) throw new ProxyConfigError([...path, 'forwardProxy'], 'forwardProxy is for http listeners');
      if (l.filters.length > 0) throw new ProxyConfigError([...path, 'filters'], 'a tcp listener takes no filters (they are HTTP filters)');
      const h = this.cluster(l.cluster, [...path, 'cluster']);
      if (h.app) throw new ProxyConfigError([...path, 'cluster'], `cluster "${l.cluster}" is an appId cluster: a tcp listener needs endpoints`);
      return { listener: new TcpListener(l, h.cluster, log), filters: [], filterTypes: [] };
    }
    // An http listener's `cluster` is its default route, after the others.
    const routes = l.cluster !== undefined ? [...l.routes, { name: `${l.name}/default`, match: { host: undefined, headers: [] }, cluster: l.cluster, timeout: 15_000, requestHeaders: {} }] : l.routes;
    const router = new Router(l.name, routes, path);
    const targets: RouteTarget[] = router.routes.map((route, i) => {
      const rpath = i < l.routes.length ? [...path, 'routes', i] : [...path, 'cluster'];
      const entry = this.cluster(route.cluster, i < l.routes.length ? [...rpath, 'cluster'] : rpath);
      const c = route.config;
      if (c.prefixRewrite !== undefined && c.match.path === undefined && c.match.pathPrefix === undefined) throw new ProxyConfigError([...rpath, 'prefixRewrite'], 'prefixRewrite needs a path or pathPrefix match');
      const problems = entry.app && (c.retries || c.resiliency) ? ['an appId cluster runs under the app\'s Resiliency policies: route retries and resiliency do not apply'] : checkRefs(this.deps.policies, c.resiliency, c.retries);
      if (problems.length > 0) throw new ProxyConfigError([...rpath, c.retries ? 'retries' : 'resiliency'], problems.join('; '));
      const retried = (c.retries !== undefined && c.retries.attempts > 0) || c.resiliency?.retry !== undefined || entry.cluster.config.resiliency?.retry !== undefined;
      return { route, entry, replay: retried && !entry.app, rewrite: prefixRewriter(route), extraHeaders: Object.keys(c.requestHeaders).length > 0 };
    });
    const filters: Filter[] = [];
    try {
      for (const [k, f] of l.filters.entries()) {
        try {
          filters.push(await this.deps.filters.registry.create(f.type, f.config, this.deps.filters.context));
        } catch (e) {
          const field = this.deps.filters.registry.types().includes(f.type) ? 'config' : 'type';
          throw new ProxyConfigError([...path, 'filters', k, field], `filter ${f.type}: ${(e as Error).message}`);
        }
      }
    } catch (e) {
      await Promise.all(filters.map((f) => f.close?.().catch(() => undefined)));
      throw e;
    }
    const flow = new HttpFlow(l.name, router, targets, new FilterChain(filters));
    return { listener: new HttpListener(l, flow, targets, log), router, filters, filterTypes: l.filters.map((f) => f.type) };
  }
}
