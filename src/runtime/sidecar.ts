// Wiring: load manifests into the component store, build the core, start the three API servers,
// and shut everything down gracefully. Nothing here knows a building block's semantics.
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildDaprHttpServer } from '../api/dapr-http/server';
import { goClientError } from '../api/dapr-http/client-error';
import { applyHttpLimits, type HttpLimits, httpServerOptions } from '../api/dapr-http/limits';
import { capConnections, capHeaderList, grpcServerLimits } from '../api/grpc/limits';
import { limitResponses } from './limits';
import { addDaprService } from '../api/dapr-grpc/service';
import { addLayottoServices } from '../api/layotto-grpc/service';
import { ComponentStore } from '../components/store';
import { type Core, createCore } from '../core';
import type { Flags } from '../cli/flags';
import { loadConfiguration } from '../config/configuration';
import { buildResiliency } from '../config/resiliency';
import { scoped } from '../observability/logger';
import { componentProbes, passes, startActuator } from '../observability/actuator';
import { type LoadedComponent, type LoadedMeshProxy, type LoadedResiliency, loadResources } from './loader';
import { ComponentProcessor } from './processor';
import { declarativeSubscriptions } from './subscriptions';
import { type SidecarToSidecar, startSidecarToSidecar } from './internal';
import { accessControlHooks } from './access-control';
import { createAppChannel, healthChecked } from '../app-channel';
import { resolveHttpEndpoints } from './http-endpoints';
import { GrpcProxy } from '../api/grpc-proxy/proxy';
import type { LayottoConfig } from './layotto-config';
import { componentReapplier } from './reapply';
import { filteredServer } from '../api/grpc/filter-interceptor';
import type { Api } from '../mesh/filter';
import { buildFilterChain } from './filters';
import { grpcTokenGuard } from '../mesh/filters/api-token';
import { InFlightLimit } from '../mesh/filters/concurrency';
import { createMetrics } from '../observability/metrics';
import { buildTracing } from '../observability/tracing/provider';
import { traceComponent } from '../observability/tracing/components';
import { setTracer } from '../core/trace';
import { mtlsClientOptions } from '../security/mtls';
import { answerPlainHttp, type ApiTls, grpcServerCredentials, httpsOptions } from '../security/tls';
import { ApiTlsReloader, type SecureServer, watchMtls } from '../security/reload';
import { loadTransportSecurity } from '../security/transport';
import type { MeshProxy } from '../mesh/proxy';
import { startConfiguredProxy, startXdsProxy } from './mesh-proxy';
import type { XdsProxy } from '../mesh/xds';
import { declaredFunctions, type Functions, startFunctions } from './faas';
import { createFunctionHost } from '../faas/engine';
import { type HotReload, hotReloadEnabled, InFlight, startHotReload, SwappableResiliency } from './hotreload';
import { type Dashboard, loadDashboard, snapshotter, startDashboard, TrafficRecorder } from '../dashboard';
import { FilterChain } from '../mesh/chain';

export const RUNTIME_VERSION: string = require('../../package.json').version;

export interface Sidecar {
  core: Core;
  /** Graceful stop: refuse new work, let in-flight requests finish within the grace period, close components. */
  stop(reason: string): Promise<void>;
  stopped: Promise<void>;
}

/** `layotto`: Layotto's config.json, already folded into flags (withLayottoConfig); its components join --resources-path's. */
export async function startSidecar(flags: Flags, log: Logger, layotto?: LayottoConfig): Promise<Sidecar> {
  const namespace = process.env.NAMESPACE ?? '';
  const config = loadConfiguration(flags.config);
  // Certificates first: a bad file stops startup before anything is started.
  const security = loadTransportSecurity(flags, { configMtls: config.mtlsEnabled, namespace, env: process.env });
  for (const w of security.warnings) log.warn(w);
  for (const n of security.notes) log.info(n);
  // The dashboard's built page likewise: a missing build is said before any port is taken.
  const dashboardAssets = flags.dashboard.port !== undefined ? loadDashboard() : undefined;
  const tracing = buildTracing(config.tracing, flags.appId, scoped(log, 'dapr.runtime.trace'));
  setTracer(tracing?.tracer);
  const metrics = createMetrics({ enabled: flags.enableMetrics, appId: flags.appId, namespace, config: config.metrics });
  const watch = hotReloadEnabled(flags.hotReload, config);
  // Hot reload closes a replaced instance once the calls holding it are done: the store counts them.
  const inflight = watch.enabled ? new InFlight() : undefined;
  const components = new ComponentStore((c) => {
    const instance = metrics.components.instrument(c.kind, c.name, tracing ? traceComponent(c) : c.instance);
    return inflight ? inflight.track(instance) : instance;
  });
  const loaded = loadResources(flags.resourcesPaths, log);
  loaded.components.push(...(layotto?.components ?? []));
  const resiliency = new SwappableResiliency(buildResiliency(loaded.resiliencies, flags.appId, scoped(log, 'dapr.runtime.resiliency')));
  const core = createCore(
    { components, appId: flags.appId, namespace, runtimeVersion: RUNTIME_VERSION },
    { port: flags.appPort, protocol: flags.appProtocol, channelAddress: flags.appChannelAddress, maxConcurrency: flags.appMaxConcurrency },
    { secretScopes: config.secrets.scopes, log: scoped(log, 'dapr.runtime.pubsub'), inputBindingsLog: scoped(log, 'dapr.runtime.processor.binding'), resiliency },
  );
  if (flags.ignored.length > 0) log.warn(`flags accepted for daprd compatibility but not acted on yet: ${flags.ignored.map((f) => `--${f}`).join(', ')}`);
  const processor = new ComponentProcessor(components, { appId: flags.appId, namespace, log: scoped(log, 'dapr.runtime.processor'), metrics: metrics.components });
  let meshProxy: MeshProxy | undefined;
  let xds: XdsProxy | undefined;
  let functions: Functions | undefined;
  let hotReload: HotReload | undefined;
  let dashboard: Dashboard | undefined;
  const recorder = dashboardAssets && new TrafficRecorder();
  // Layotto's actuator starts first, so its probes say INIT while components load.
  const actuator = flags.actuator.port === 0 ? undefined : await startActuator({
    port: flags.actuator.port,
    host: flags.actuator.listenAddress,
    name: 'layotto-ts',
    version: RUNTIME_VERSION,
    log,
    isLive: () => passes(() => core.metadata.checkOutboundHealth()),
    isReady: () => passes(() => core.metadata.checkHealth()),
    probes: componentProbes(components, () => processor.skipped),
    proxy: () => meshProxy?.snapshot(),
    xds: () => xds?.status(),
  });
  if (actuator) log.info(`Actuator is running on port ${actuator.port}`);

  core.lifecycle.setReapply(componentReapplier(components, { appId: flags.appId, namespace, log: scoped(log, 'dapr.runtime.processor') }));
  core.pubsub.subscriber.setDeclarative(declarativeSubscriptions(loaded.subscriptions, flags.appId));
  for (const e of loaded.ignored) log.warn(`ignoring invalid resource (ignoreErrors): ${e.message}`);
  const apiToken = process.env.DAPR_API_TOKEN || undefined;
  if (apiToken) log.info('Enabled token authentication on the HTTP and gRPC API servers');
  let chain: FilterChain;
  const inFlight = flags.limits.maxConcurrentRequests > 0 ? new InFlightLimit(flags.limits.maxConcurrentRequests) : undefined;
  try {
    await processor.applyAll(loaded.components);
    core.invoke.external.setEndpoints(await resolveHttpEndpoints(loaded.httpEndpoints, components, flags.appId, scoped(log, 'dapr.runtime.invoke')));
    // After the components: middleware metadata may take secrets from the secret stores.
    const middleware = { components: loaded.components, streamFilters: layotto?.streamFilters, properties: (item: LoadedComponent) => processor.properties(item) };
    chain = await buildFilterChain({ flags, config, appId: flags.appId, namespace, log, middleware, metrics, apiToken, inFlight });
    // The dashboard's recorder observes every exchange and learns which filter refused one.
    if (recorder) chain = new FilterChain([recorder.filter, ...chain.filters.map((f) => recorder.watch(f))]);
  } catch (e) {
    await processor.closeAll();
    await tracing?.shutdown();
    await actuator?.close();
    throw e;
  }

  const hosts = flags.listenAddresses.length > 0 ? flags.listenAddresses : ['0.0.0.0'];
  let internal: SidecarToSidecar | undefined;
  const app = flags.appPort ? { address: flags.appChannelAddress, port: flags.appPort, protocol: flags.appProtocol, apiToken: process.env.APP_API_TOKEN || undefined } : undefined;
  let metricsServer: HttpServer | undefined;
  const acl = accessControlHooks(core, config.accessControl, flags.appProtocol, scoped(log, 'dapr.acl'), watch.enabled, metrics.acl);
  const grpcProxy = new GrpcProxy({ appId: flags.appId, namespace, app, resiliency, maxMessageBytes: flags.maxBodySize, admit: apiToken ? grpcTokenGuard(apiToken) : undefined, inFlight, authorize: acl.proxy, sidecarTls: security.mtls && ((id, ns) => mtlsClientOptions(security.mtls!, { appId: id, namespace: ns })), log: scoped(log, 'dapr.runtime.grpc.proxy') });
  const servers: { http: FastifyInstance; extraHttp: HttpServer[]; grpc: grpc.Server[] } = { http: buildDaprHttpServer(core, { maxBodySize: flags.maxBodySize, logger: scoped(log, 'dapr.runtime.http'), chain, limits: flags.limits, tls: security.api }), extraHttp: [], grpc: [] };
  // The API TLS files are re-read when they change: new connections on every API listener get the new certificate.
  const apiTls = security.api && new ApiTlsReloader(flags.apiTls, security.api, scoped(log, 'dapr.runtime.security'));
  const apiCredentials = apiTls?.credentials ?? grpcServerCredentials(undefined);
  const mtlsWatch = security.mtls && watchMtls(security.mtls, { ...flags.mtls, env: process.env }, { appId: flags.appId, namespace }, scoped(log, 'dapr.runtime.security'));
  try {
    await servers.http.listen({ host: hosts[0], port: flags.daprHttpPort });
    for (const host of hosts.slice(1)) servers.extraHttp.push(await listenHttp(servers.http, host, flags.daprHttpPort, flags.limits, security.api));
    if (apiTls) {
      for (const s of [servers.http.server, ...servers.extraHttp]) apiTls.serve(s as unknown as SecureServer);
      apiTls.start();
    }
    log.info(`HTTP server is running on port ${flags.daprHttpPort}`);
    servers.grpc.push(await startGrpc(hosts, flags.daprGrpcPort, flags, { chain, api: 'dapr-grpc' }, (s) => {
      addDaprService(s, core);
      grpcProxy.attach(s, 'app'); // calls for the apps' own gRPC services (dapr-app-id)
    }, apiCredentials));
    log.info(`gRPC server is running on port ${flags.daprGrpcPort}`);
    if (flags.layottoGrpcPort !== 0) {
      // config.json's runtime listener names its own host; layotto.streamFilters are that listener's filters.
      servers.grpc.push(await startGrpc(layotto?.listener ? [layotto.listener.host] : hosts, flags.layottoGrpcPort, flags, { chain, api: 'layotto-grpc' }, (s) => addLayottoServices(s, core), apiCredentials));
      log.info(`Layotto gRPC server is running on port ${flags.layottoGrpcPort}`);
    }
    internal = await startSidecarToSidecar({
      appId: flags.appId,
      namespace,
      mode: flags.mode,
      port: flags.daprInternalGrpcPort,
      listenAddress: flags.daprInternalGrpcListenAddress,
      maxBodySize: flags.maxBodySize,
      nameResolution: config.nameResolution,
      ports: { http: flags.daprHttpPort, grpc: flags.daprGrpcPort, app: flags.appPort },
      local: () => (flags.appPort ? metrics.received({ invoke: (req, signal) => core.invoke.callLocal(req, signal) }) : undefined),
      prepareServer: (s) => {
        grpcProxy.attach(s, 'sidecar');
        capHeaderList(s, flags.limits.readBufferSize);
      },
      mtls: security.mtls,
      chain,
      authorize: acl.internal,
      log: scoped(log, 'dapr.runtime.internal'),
    });
    const remote = internal.remote;
    core.invoke.setRemote(remote && (async (appId, ns) => limitResponses(metrics.sent(await remote(appId, ns), appId), appId, flags.maxBodySize)));
    grpcProxy.setLocate(internal.resolve);
    metricsServer = await metrics.listen(flags.metricsListenAddress, flags.metricsPort);
    if (metricsServer) log.info(`metrics server started on ${flags.metricsListenAddress || '0.0.0.0'}:${flags.metricsPort}/`);
    // The mesh proxy last: its appId clusters use service invocation, wired just above.
    const proxyWiring = { appId: flags.appId, log, core, resiliencies: loaded.resiliencies, metrics, observer: recorder?.filter };
    xds = flags.xds && (await startXdsProxy(loaded.meshProxies, proxyWiring, flags.xds));
    meshProxy = xds ? xds.proxy : await startConfiguredProxy(loaded.meshProxies, proxyWiring);
    core.metadata.setMeshProxy(meshProxy?.snapshot);
    // Without xDS (whose proxy always runs), hot reload starts the proxy for the first MeshProxy
    // resource and stops it after the last; `meshProxy` stays the one reference everything reads.
    const proxyLifecycle = xds ? {} : {
      startMeshProxy: async (resources: readonly LoadedMeshProxy[], resiliencies: readonly LoadedResiliency[]) => {
        meshProxy = await startConfiguredProxy(resources, { ...proxyWiring, resiliencies });
        core.metadata.setMeshProxy(meshProxy?.snapshot);
      },
      stopMeshProxy: async () => {
        const running = meshProxy;
        meshProxy = undefined;
        core.metadata.setMeshProxy(undefined);
        await running?.stop(flags.gracefulShutdownSeconds * 1000);
      },
    };
    // Functions after invocation is wired: their host calls invoke apps, other sidecars and functions.
    const specs = declaredFunctions(loaded.functions, layotto?.faas?.functions ?? [], flags.appId);
    functions = await startFunctions({ flags, core, log, specs, configured: layotto?.faas, createHost: (services) => createFunctionHost(services, { log: scoped(log, 'layotto.faas') }), watchModules: watch.enabled });
    if (watch.enabled) {
      const processorOptions = { appId: flags.appId, namespace, log: scoped(log, 'dapr.runtime.processor'), metrics: metrics.components };
      hotReload = startHotReload(
        { resourcesPaths: flags.resourcesPaths, configFiles: flags.config, layottoFile: layotto?.file },
        { loaded, configuration: config, layotto },
        { store: components, processor, processorOptions, core, appId: flags.appId, appProtocol: flags.appProtocol, aclObserver: metrics.acl, resiliency, meshProxy: () => meshProxy, ...proxyLifecycle, functions: () => functions, inflight, drainMs: flags.gracefulShutdownSeconds * 1000, log },
      );
      await hotReload.ready;
      log.info('hot reload: watching the resources for changes');
    } else log.info(`hot reload is off (${watch.why})`);
    if (dashboardAssets && recorder) {
      dashboard = await startDashboard({ port: flags.dashboard.port!, host: flags.dashboard.address, log, assets: dashboardAssets, snapshot: snapshotter({ metadata: core.metadata, store: components, skipped: () => processor.skipped, recorder }) });
      log.info(`Dashboard is running on http://${flags.dashboard.address}:${dashboard.port}/`);
    }
  } catch (e) {
    // A port taken or the like: release everything startup took so far, then report.
    await hotReload?.close();
    await apiTls?.close();
    await mtlsWatch?.close();
    await dashboard?.close();
    await functions?.stop(0);
    await meshProxy?.stop(0);
    metricsServer?.close();
    await closeAll(servers, 0);
    await internal?.stop(0);
    grpcProxy.close();
    await internal?.close();
    await processor.closeAll();
    await Promise.all(chain.filters.map((f) => f.close?.()));
    await tracing?.shutdown();
    await actuator?.close();
    throw e;
  }

  // The env a daprd child process sees (dapr run passes the same to the app).
  Object.assign(process.env, {
    DAPR_HTTP_PORT: String(flags.daprHttpPort),
    DAPR_GRPC_PORT: String(flags.daprGrpcPort),
    DAPR_PORT: String(internal.port),
    APP_ID: flags.appId,
    ...(flags.appPort ? { APP_PORT: String(flags.appPort) } : {}),
    ...(metrics.registry ? { DAPR_METRICS_PORT: String(flags.metricsPort) } : {}),
  });

  core.metadata.setOutboundReady(true);
  const appWait = flags.appPort ? waitForPort(flags.appChannelAddress, flags.appPort) : undefined;
  const direct = flags.appPort
    ? createAppChannel({ address: flags.appChannelAddress, port: flags.appPort, protocol: flags.appProtocol, appId: flags.appId, maxConcurrency: flags.appMaxConcurrency, appApiToken: process.env.APP_API_TOKEN || undefined, maxBodySize: flags.maxBodySize, healthCheckPath: flags.appHealth.path })
    : undefined;
  const channel = direct && flags.appHealth.enabled ? healthChecked(direct, flags.appHealth, scoped(log, 'dapr.apphealth')) : direct;
  core.invoke.setAppChannel(channel && limitResponses(metrics.toApp(channel, channel.kind !== 'http'), flags.appId, flags.maxBodySize));
  if (appWait && channel) {
    log.info(`waiting for the app on ${flags.appChannelAddress}:${flags.appPort}`);
    // daprd turns healthy once the app listens and its subscriptions are read and started.
    void appWait.promise
      .then(() => core.pubsub.subscriber.startApp(channel))
      .then(() => core.inputBindings.startApp(channel))
      .then(() => {
        log.info('app is listening; dapr initialized. Status: Running');
        core.metadata.setReady(true);
      });
  } else {
    core.metadata.setReady(true);
    log.info('dapr initialized. Status: Running');
  }

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | undefined;
  const stop = (reason: string) =>
    (stopping ??= (async () => {
      log.info(`shutting down (${reason}); grace period ${flags.gracefulShutdownSeconds}s`);
      actuator?.down(`shutting down: ${reason}`);
      appWait?.cancel();
      core.metadata.setReady(false);
      await hotReload?.close();
      await apiTls?.close();
      await mtlsWatch?.close();
      await Promise.all([closeAll(servers, flags.gracefulShutdownSeconds * 1000), internal.stop(flags.gracefulShutdownSeconds * 1000), meshProxy?.stop(flags.gracefulShutdownSeconds * 1000), functions?.stop(flags.gracefulShutdownSeconds * 1000)]);
      await core.pubsub.subscriber.close();
      await core.inputBindings.close();
      await channel?.close();
      grpcProxy.close();
      await internal.close();
      await core.invoke.close();
      await processor.closeAll();
      await Promise.all(chain.filters.map((f) => f.close?.()));
      await tracing?.shutdown();
      await new Promise<void>((r) => (metricsServer ? metricsServer.close(() => r()) : r()));
      await actuator?.close();
      await dashboard?.close();
      log.info('shutdown complete');
      resolveStopped();
    })());
  core.metadata.onShutdown(() => void stop('shutdown API called'));
  return { core, stop, stopped };
}

/** A further listener of the same fastify app (--dapr-listen-addresses), under the same limits. */
function listenHttp(app: FastifyInstance, host: string, port: number, limits: HttpLimits, tls?: ApiTls): Promise<HttpServer> {
  const handler = (req: IncomingMessage, res: ServerResponse) => app.routing(req, res);
  // An https server is closed and reaped the same way as an http one.
  const server = tls ? (createHttpsServer({ ...httpServerOptions(limits), ...httpsOptions(tls) }, handler) as unknown as HttpServer) : createServer(httpServerOptions(limits), handler);
  if (tls) answerPlainHttp(server);
  applyHttpLimits(server, limits);
  server.on('clientError', goClientError);
  return new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(port, host, () => res(server));
  });
}

async function startGrpc(hosts: string[], port: number, flags: Pick<Flags, 'maxBodySize' | 'limits'>, filters: { chain: FilterChain; api: Api }, register: (s: grpc.Server) => void, credentials: grpc.ServerCredentials): Promise<grpc.Server> {
  const limits = grpcServerLimits(flags.limits);
  const server = filteredServer({ ...limits.options, interceptors: limits.interceptors, 'grpc.max_receive_message_length': flags.maxBodySize, 'grpc.max_send_message_length': flags.maxBodySize }, filters.chain, filters.api);
  register(server);
  capHeaderList(server, flags.limits.readBufferSize); // after register: runs before the proxy's hook
  for (const host of hosts) {
    const addr = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    await new Promise<void>((res, rej) => server.bindAsync(addr, credentials, (err) => (err ? rej(new Error(`cannot listen on ${addr}: ${err.message}`)) : res())));
  }
  capConnections(server, flags.limits.maxConnections);
  return server;
}

/** Stops accepting, waits up to graceMs for in-flight calls, then forces the rest closed. */
async function closeAll(servers: { http: FastifyInstance; extraHttp: HttpServer[]; grpc: grpc.Server[] }, graceMs: number): Promise<void> {
  // Connections busy when closing started turn idle later; close them as they do so.
  const reap = setInterval(() => {
    servers.http.server.closeIdleConnections();
    for (const s of servers.extraHttp) s.closeIdleConnections();
  }, 50);
  const force = setTimeout(() => {
    for (const s of servers.grpc) s.forceShutdown();
    for (const s of servers.extraHttp) s.closeAllConnections();
    servers.http.server.closeAllConnections?.();
  }, graceMs);
  await Promise.all([
    servers.http.close(),
    ...servers.extraHttp.map((s) => new Promise<void>((r) => { s.close(() => r()); s.closeIdleConnections(); })),
    ...servers.grpc.map((s) => new Promise<void>((r) => s.tryShutdown(() => r()))),
  ]);
  clearTimeout(force);
  clearInterval(reap);
}

/** Polls a TCP port until it accepts (daprd waits for the app port before it is ready). */
function waitForPort(host: string, port: number): { promise: Promise<void>; cancel: () => void } {
  let cancelled = false;
  const promise = new Promise<void>((resolve) => {
    const attempt = () => {
      if (cancelled) return;
      const s = new Socket();
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        setTimeout(attempt, 100).unref();
      });
      s.connect(port, host);
    };
    attempt();
  });
  return { promise, cancel: () => (cancelled = true) };
}
