// Wiring for WebAssembly functions: the host services a function reaches (state, pub/sub, locks,
// sequencer, invocation) built on the core, the functions declared in --resources-path
// (WasmFunction) and config.json (`Layotto` stream filters), the functions port, the admin API,
// invocation by function id, what /v1.0/metadata reports and, with hot reload on, the watch on the
// running functions' .wasm files. Everything here is off unless a function is declared or a port
// flag asks for it, so sidecars without functions open no port.
import type { Server } from 'node:http';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Core } from '../core';
import { UnlockStatus } from '../components/lock/types';
import { adminHandler } from '../faas/admin';
import { listen } from '../faas/http-io';
import { functionLookup } from '../faas/invoker';
import { functionsHandler } from '../faas/listener';
import { fromManifest } from '../faas/spec';
import type { FunctionHost, FunctionSpec, HostServices } from '../faas/types';
import { scoped } from '../observability/logger';
import type { LoadedFunction } from './loader';
import { type ModuleWatch, watchModules } from './hotreload/wasm-files';

/** Layotto's default functions port. */
export const DEFAULT_FAAS_PORT = 2045;

/** proxy_log levels (0 trace … 5 critical) as pino's. */
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

export function hostServices(core: Core, log: Logger): HostServices {
  return {
    async getState(store, key) {
      return (await core.state.get(store, key))?.data;
    },
    async saveState(store, key, value) {
      await core.state.save(store, [{ key, value }]);
    },
    async publish(pubsub, topic, data, contentType) {
      await core.pubsub.publisher.publish({ pubsubName: pubsub, topic, data, contentType: contentType || 'text/plain', metadata: {} });
    },
    async invoke(id, method, data) {
      // Through the invocation core, so the target may be this app, another sidecar's or a function.
      const res = await core.invoke.invoke({ appId: id, method, verb: 'POST', query: '', headers: {}, contentType: 'text/plain', body: Readable.from(data.length > 0 ? [data] : []), length: data.length });
      const body = Buffer.concat(await res.body.toArray());
      if (res.status < 200 || res.status > 299) throw new Error(`invoke ${id}/${method}: status ${res.status}: ${body.toString('utf8', 0, 200)}`);
      return body;
    },
    async tryLock(store, resource, owner, expireSeconds) {
      return (await core.lock.tryLock({ storeName: store, resourceId: resource, lockOwner: owner, expiryInSeconds: expireSeconds })).success;
    },
    async unlock(store, resource, owner) {
      return (await core.lock.unlock({ storeName: store, resourceId: resource, lockOwner: owner })).status === UnlockStatus.SUCCESS;
    },
    nextId(store, key) {
      return core.sequencer.getNextId({ storeName: store, key });
    },
    log(functionId, level, message) {
      log[LOG_LEVELS[Math.min(Math.max(level, 0), 5)]!]({ function: functionId }, message);
    },
  };
}

/** The functions this app declares: WasmFunction resources scoped to it, then config.json's. */
export function declaredFunctions(loaded: readonly LoadedFunction[], layotto: readonly FunctionSpec[], appId: string): FunctionSpec[] {
  const mine = loaded.filter((f) => f.manifest.scopes.length === 0 || f.manifest.scopes.includes(appId));
  const specs = [...mine.map((f) => fromManifest(f.manifest, f.file)), ...layotto];
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.id)) throw new Error(`function "${s.id}" is declared twice`);
    seen.add(s.id);
  }
  return specs;
}

export interface Functions {
  host: FunctionHost;
  port?: number;
  adminPort?: number;
  /** After functions were installed, updated or uninstalled (hot reload): the metadata and the watched modules follow. */
  changed(): Promise<void>;
  /** Stops the listeners (in-flight calls get `graceMs`), then the workers. */
  stop(graceMs: number): Promise<void>;
}

/** The command line's function settings (Flags.faas); unset ones fall back as functionPorts says. */
export interface FaasFlags {
  port?: number;
  listenAddress?: string;
  adminPort?: number;
  adminListenAddress?: string;
}

type HostPort = { host: string; port: number };

/** config.json's function listeners (LayottoConfig.faas): the `Layotto` filter's and `wasm_filter`'s. */
export interface ConfiguredListeners {
  listener?: HostPort;
  admin?: HostPort;
}

/**
 * Where the functions port and the admin API listen (port 0: not at all). The command line wins,
 * then config.json's listeners; otherwise the functions port is 2045 once a function is declared
 * or the admin API is on (else off) on the API servers' first address, and the admin API is off
 * (127.0.0.1 when a port is given: it changes what runs in the sidecar).
 */
export function functionPorts(flags: FaasFlags, config: ConfiguredListeners | undefined, ctx: { declared: number; listenAddresses: string[] }): { functions: HostPort; admin: HostPort } {
  const adminPort = flags.adminPort ?? config?.admin?.port ?? 0;
  const inUse = ctx.declared > 0 || adminPort !== 0;
  return {
    functions: {
      port: flags.port ?? config?.listener?.port ?? (inUse ? DEFAULT_FAAS_PORT : 0),
      host: flags.listenAddress ?? config?.listener?.host ?? ctx.listenAddresses[0] ?? '0.0.0.0',
    },
    admin: { port: adminPort, host: flags.adminListenAddress ?? config?.admin?.host ?? '127.0.0.1' },
  };
}

export interface FunctionsWiring {
  flags: { faas: FaasFlags; listenAddresses: string[]; maxBodySize: number };
  core: Core;
  log: Logger;
  specs: FunctionSpec[];
  /** config.json's function listeners, when it has any. */
  configured?: ConfiguredListeners;
  createHost: (services: HostServices) => FunctionHost;
  /** Hot reload is on: a change to a running function's .wasm file updates the function. */
  watchModules?: boolean;
}

/** Installs the declared functions and opens the ports; undefined when functions are not in use. */
export async function startFunctions(w: FunctionsWiring): Promise<Functions | undefined> {
  const at = functionPorts(w.flags.faas, w.configured, { declared: w.specs.length, listenAddresses: w.flags.listenAddresses });
  if (w.specs.length === 0 && at.functions.port === 0 && at.admin.port === 0) return undefined;
  const log = scoped(w.log, 'layotto.faas');
  const host = w.createHost(hostServices(w.core, log));
  const servers: Server[] = [];
  const modules: ModuleWatch | undefined = w.watchModules ? watchModules(host, log) : undefined;
  const report = () => w.core.metadata.set('faas.functions', host.list().map((f) => f.id).join(','));
  const changed = async () => {
    report();
    await modules?.sync().catch((e: unknown) => log.warn(`watching the function modules failed: ${(e as Error).message}`));
  };
  const stop = async (graceMs: number) => {
    await modules?.close();
    await Promise.all(servers.map((s) => closeServer(s, graceMs)));
    w.core.invoke.setLocalFunctions(undefined);
    await host.close();
  };
  try {
    // A function that will not load stops startup, as a component that fails to init does.
    for (const spec of w.specs) {
      await host.install(spec).catch((e: unknown) => {
        throw new Error(`function "${spec.id}" (${spec.path}): ${(e as Error).message}`);
      });
    }
    await changed();
    w.core.invoke.setLocalFunctions(functionLookup(host));
    const out: Functions = { host, changed, stop };
    if (at.functions.port !== 0) {
      const server = await listen(functionsHandler(host, { maxBodySize: w.flags.maxBodySize }), at.functions.port, at.functions.host);
      servers.push(server);
      out.port = (server.address() as { port: number }).port;
      log.info(`WebAssembly functions are served on ${at.functions.host}:${out.port} (header "id: <function>")`);
    }
    if (at.admin.port !== 0) {
      const onChange = (op: string, id: string) => {
        void changed();
        log.info(`function ${id}: ${op} done through the admin API`);
      };
      const server = await listen(adminHandler(host, { onChange }), at.admin.port, at.admin.host);
      servers.push(server);
      out.adminPort = (server.address() as { port: number }).port;
      log.info(`function admin API (/wasm/install, /wasm/update, /wasm/uninstall) on ${at.admin.host}:${out.adminPort}`);
    }
    return out;
  } catch (e) {
    await stop(0);
    throw e;
  }
}

function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
