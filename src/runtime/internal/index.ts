// Sidecar to sidecar, wired in one place: the internal gRPC server for calls to this app, the name
// resolver that publishes it and finds the others, and the remote invoker for calls to them.
// The resolver comes from the Configuration's spec.nameResolution; without one, kubernetes in
// --mode kubernetes and sqlite otherwise (daprd defaults to mdns in self-hosted mode: the shared
// registry file lets sidecars of one host find each other with no network setup).
import type { Logger } from 'pino';
import { nameResolutionRegistry } from '../../components/nameresolution/registry';
import type { NameResolver } from '../../components/nameresolution/types';
import type { NameResolutionConfig } from '../../config/configuration';
import type * as grpc from '@grpc/grpc-js';
import type { FilterChain } from '../../mesh/chain';
import type { Invoker, ResolvedAddress } from '../../core/invoke/types';
import type { Mtls } from '../../security/mtls';
import { RemoteInvoker } from './remote';
import { InternalServer, type InternalServerOptions } from './server';

export interface SidecarToSidecarOptions {
  appId: string;
  namespace: string;
  mode: string;
  /** --dapr-internal-grpc-port (undefined: daprd's stable port, else any free one). */
  port?: number;
  /** --dapr-internal-grpc-listen-address ('' = every interface). */
  listenAddress: string;
  maxBodySize: number;
  nameResolution?: NameResolutionConfig;
  ports: { http: number; grpc: number; app?: number };
  /** This sidecar's app, for calls other sidecars send here (undefined: no app channel). */
  local: () => Invoker | undefined;
  /** Called with the internal gRPC server before it binds (gRPC proxying). */
  prepareServer?: (server: grpc.Server) => void;
  /** The filters every call on the internal server passes through. */
  chain?: FilterChain;
  /** Mutual TLS both ways (--enable-mtls); unset: plain HTTP/2. */
  mtls?: Mtls;
  /** Access control for calls other sidecars send here (the denial, or undefined when allowed). */
  authorize?: InternalServerOptions['authorize'];
  log: Logger;
}

export interface SidecarToSidecar {
  port: number;
  /** For the invocation core: undefined when name resolution could not start. */
  remote?: (appId: string, namespace: string) => Promise<Invoker>;
  /** Another app's sidecar (its internal address), for gRPC proxying; undefined as `remote` is. */
  resolve?: (appId: string, namespace: string, signal?: AbortSignal) => Promise<ResolvedAddress>;
  /** Deregisters at once (no new calls are routed here), then drains in-flight calls within graceMs. */
  stop(graceMs: number): Promise<void>;
  /** Closes the channels to other sidecars (after this sidecar's own callers are done). */
  close(): Promise<void>;
}

export async function startSidecarToSidecar(o: SidecarToSidecarOptions): Promise<SidecarToSidecar> {
  const server = new InternalServer({ appId: o.appId, host: o.listenAddress, port: o.port, maxMessageBytes: Math.max(o.maxBodySize, 4 * 1024 * 1024), local: o.local, prepare: o.prepareServer, chain: o.chain, mtls: o.mtls, authorize: o.authorize });
  const port = await server.start();
  o.log.info(`Internal gRPC server is running on ${server.host}:${port}${o.mtls ? ' (mTLS)' : ''}`);

  const explicit = o.nameResolution?.component;
  const component = explicit || (o.mode === 'kubernetes' ? 'kubernetes' : 'sqlite');
  const version = o.nameResolution?.version ?? '';
  let resolver: NameResolver | undefined;
  try {
    resolver = nameResolutionRegistry.create(component, version);
    if (!resolver) throw new Error(`couldn't find name resolver ${component}/${version || 'v1'} (known: ${nameResolutionRegistry.names().join(', ')})`);
    await resolver.init({
      instance: {
        appId: o.appId,
        namespace: o.namespace,
        address: process.env.DAPR_HOST_IP ?? '',
        listenAddress: server.host,
        daprInternalPort: port,
        daprHttpPort: o.ports.http,
        daprGrpcPort: o.ports.grpc,
        appPort: o.ports.app,
      },
      configuration: o.nameResolution?.configuration,
    });
    o.log.info(`Initialized name resolution to ${component}`);
  } catch (e) {
    await resolver?.close().catch(() => {});
    resolver = undefined;
    const why = `name resolution ${component}: ${(e as Error).message}`;
    // A configured resolver that fails is a startup error (daprd's too); the implicit default only warns.
    if (explicit) {
      await server.stop(0);
      throw new Error(why);
    }
    o.log.warn(`${why}; invoking other apps is unavailable`);
  }

  const remote = resolver ? new RemoteInvoker({ resolver, ownPort: port, maxMessageBytes: Math.max(o.maxBodySize, 4 * 1024 * 1024), mtls: o.mtls }) : undefined;
  let stopping: Promise<void> | undefined;
  return {
    port,
    remote: remote && ((appId, namespace) => remote.remote(appId, namespace)),
    resolve: resolver && ((id, namespace, signal) => resolver!.resolve({ id, namespace, port }, signal)),
    stop: (graceMs) =>
      (stopping ??= (async () => {
        await resolver?.close().catch((e: Error) => o.log.warn(`name resolution ${component}: ${e.message}`));
        await server.stop(graceMs);
      })()),
    close: async () => remote?.close(),
  };
}
