// The mesh proxy configured by an xDS control plane (issue 12). xDS resources become one MeshProxy
// resource named "xds" that runs beside the file-declared MeshProxy resources (names must not
// clash: a clash is NACKed). Each response is applied whole: the state it would make is
// translated and handed to MeshProxy.update with the file resources; anything wrong (translation,
// schema, the proxy's own checks, a port that cannot bind) NACKs it and the running config stays.
// The proxy returned by withXds keeps that pairing when the file resources change (hot reload).
import type { Logger } from 'pino';
import { type MeshProxy, type MeshProxyManifest, meshProxySchema, ProxyConfigError } from '../proxy';
import { AdsClient, type AdsStatus, type XdsNode } from './ads-client';
import { type Msg, TYPE, type TypeUrl } from './protos';
import type { Pb } from './translate/common';
import { translate, type XdsState, XDS_MANIFEST_NAME } from './translate';

export interface XdsOptions {
  server: string;
  node: XdsNode;
  log: Logger;
  backoff?: { initialMs: number; maxMs: number };
}

export interface XdsStatus extends AdsStatus {
  /** Listeners waiting for their RDS route configuration. */
  warming: string[];
  /** What the last applied translation left out or approximated. */
  warnings: string[];
}

export interface XdsProxy {
  /** The proxy as the sidecar uses it: update() takes the file resources and keeps the xDS one beside them. */
  proxy: MeshProxy;
  status(): XdsStatus;
  /** Called on every status change (the metadata API's extended `xds` entry follows it). */
  onChange(listener: () => void): void;
  stop(): void;
}

const nameOf: Record<TypeUrl, (m: Pb) => string> = {
  [TYPE.listener]: (m) => m.name,
  [TYPE.route]: (m) => m.name,
  [TYPE.cluster]: (m) => m.name,
  [TYPE.endpoint]: (m) => m.cluster_name,
};

/** Connects to the control plane and applies what it sends to `proxy` (started already, maybe with no resources). */
export function withXds(proxy: MeshProxy, files: readonly MeshProxyManifest[], opts: XdsOptions): XdsProxy {
  const log = opts.log;
  let fileResources = [...files];
  let xds: MeshProxyManifest | undefined;
  let state: XdsState = { listeners: new Map(), routes: new Map(), clusters: new Map(), endpoints: new Map() };
  let warming: string[] = [];
  let warnings: string[] = [];
  const listeners: (() => void)[] = [];
  const changed = () => listeners.forEach((l) => l());
  // xDS pushes and file updates (hot reload) one at a time, so each sees the other's last applied set.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn);
    queue = run.catch(() => undefined);
    return run;
  };

  const apply = async (next: XdsState): Promise<{ rds: string[]; eds: string[] }> => {
    const found: string[] = [];
    const t = translate(next, (w) => found.push(w));
    const parsed = meshProxySchema.safeParse({ apiVersion: 'layotto.io/v1', kind: 'MeshProxy', metadata: { name: XDS_MANIFEST_NAME }, spec: t.spec });
    if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    try {
      await proxy.update([...fileResources, parsed.data]);
    } catch (e) {
      if (e instanceof ProxyConfigError) {
        // spec.listeners.3.routes.0 → listener <name>: routes.0 (the index means nothing to the control plane).
        const [, kind, i, ...rest] = e.path;
        const named = e.resource === fileResources.length && (kind === 'listeners' || kind === 'clusters') ? (t.spec[kind][i as number]?.name as string | undefined) : undefined;
        const where = named !== undefined ? `${kind === 'listeners' ? 'listener' : 'cluster'} ${named}${rest.length ? `: ${rest.join('.')}` : ''}` : `${e.resource === fileResources.length ? '' : 'with the MeshProxy files: '}${e.path.join('.')}`;
        throw new Error(`${where}: ${e.message}`);
      }
      throw e;
    }
    xds = parsed.data;
    for (const w of found) if (!warnings.includes(w)) log.warn(`xds: ${w}`);
    warnings = found;
    warming = t.warming;
    return { rds: t.rdsNames, eds: t.edsNames };
  };

  const client: AdsClient = new AdsClient({
    server: opts.server,
    node: opts.node,
    log,
    backoff: opts.backoff,
    handle: async (type, _version, resources: Msg[]) => {
      const byName = new Map<string, Pb>();
      for (const r of resources) {
        const name = nameOf[type](r);
        if (!name) throw new Error('a resource without a name');
        if (byName.has(name)) throw new Error(`resource ${name} sent twice`);
        byName.set(name, r);
      }
      // LDS and CDS responses carry every resource; RDS and EDS only those that changed.
      const merge = (old: ReadonlyMap<string, Pb>) => new Map([...old, ...byName]);
      const next: XdsState = {
        listeners: type === TYPE.listener ? byName : state.listeners,
        clusters: type === TYPE.cluster ? byName : state.clusters,
        routes: type === TYPE.route ? merge(state.routes) : state.routes,
        endpoints: type === TYPE.endpoint ? merge(state.endpoints) : state.endpoints,
      };
      const names = await serial(() => apply(next));
      state = next;
      client.subscribe(TYPE.route, names.rds);
      client.subscribe(TYPE.endpoint, names.eds);
    },
  });
  client.onChange = changed;
  client.start();

  const wrapped: MeshProxy = {
    get ports() {
      return proxy.ports;
    },
    snapshot: () => proxy.snapshot(),
    update: (next) =>
      serial(async () => {
        await proxy.update(xds ? [...next, xds] : next);
        fileResources = [...next];
      }),
    stop: (graceMs) => {
      client.stop();
      return proxy.stop(graceMs);
    },
  };
  return {
    proxy: wrapped,
    status: () => ({ ...client.status, warming, warnings }),
    onChange: (l) => void listeners.push(l),
    stop: () => client.stop(),
  };
}

export type { XdsNode } from './ads-client';
