// daprd-compatible command line, in one table. Names and defaults follow cmd/daprd/options;
// flags daprd has but this sidecar does not act on yet are accepted and reported, so existing
// `daprd ...` command lines keep working.
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '../components/metadata';
import { parseQuantity } from '../components/quantity';

export type AppProtocol = 'http' | 'https' | 'grpc' | 'grpcs' | 'h2c';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface Flags {
  appId: string;
  appPort?: number;
  appProtocol: AppProtocol;
  appChannelAddress: string;
  appMaxConcurrency: number;
  /** --enable-app-health-check and its probe settings (daprd's units: interval s, timeout ms). */
  appHealth: { enabled: boolean; path: string; intervalMs: number; timeoutMs: number; threshold: number };
  daprHttpPort: number;
  daprGrpcPort: number;
  /** --dapr-internal-grpc-port (sidecar to sidecar); unset or 0: daprd's stable port for the app id, else any free one. */
  daprInternalGrpcPort?: number;
  /** --dapr-internal-grpc-listen-address; '' = every interface, as daprd. */
  daprInternalGrpcListenAddress: string;
  layottoGrpcPort: number;
  /** Layotto's actuator (health, info, logger levels); port 0 turns it off. */
  actuator: { port: number; listenAddress: string };
  /** --xds-server: the mesh proxy also takes listeners, routes, clusters and endpoints from this xDS control plane (ADS), as this node. */
  xds?: { server: string; node: { id: string; cluster: string; metadata: Record<string, string> } };
  /** The dashboard web page (--dashboard-port, unset: off; 0: any free port) and its address (loopback by default). */
  dashboard: { port?: number; address: string };
  /**
   * WebAssembly functions: the functions port and Layotto's admin API (/wasm/install...), each on
   * its address; unset values fall back to config.json's listeners, then to the defaults
   * (src/runtime/faas.ts functionPorts).
   */
  faas: { port?: number; listenAddress?: string; adminPort?: number; adminListenAddress?: string };
  listenAddresses: string[];
  resourcesPaths: string[];
  config: string[];
  /** --hot-reload: apply changes to the resources, --config files and config.json without a restart. */
  hotReload: boolean;
  metricsPort: number;
  /** --metrics-listen-address; '' = every interface, as daprd. */
  metricsListenAddress: string;
  enableMetrics: boolean;
  logLevel: LogLevel;
  logAsJson: boolean;
  /** Tri-state as daprd's: unset leaves it to Configuration logging.apiLogging.enabled. */
  enableApiLogging?: boolean;
  maxBodySize: number;
  gracefulShutdownSeconds: number;
  mode: string;
  /**
   * Layotto's config.json (`start -c <file>`, Layotto's own command line), and which of the flags
   * it can also set were given on the command line: those win over the file.
   */
  layottoConfig?: { file: string; fromCli: string[] };
  /**
   * --enable-mtls (unset: Configuration spec.mtls.enabled decides) and the trust bundle and workload
   * certificate files (daprd's DAPR_TRUST_ANCHORS(_FILE)/DAPR_CERT_CHAIN/DAPR_CERT_KEY env vars also do).
   */
  mtls: { enabled?: boolean; trustAnchorsFile?: string; certChainFile?: string; certKeyFile?: string };
  /** TLS on the Dapr HTTP/gRPC and Layotto gRPC APIs (ours: daprd has none); with a CA, client certificates are required. */
  apiTls: { certFile?: string; keyFile?: string; caFile?: string };
  /** daprd flags given but not acted on yet (reported at startup). */
  /** Front-door limits of the public API servers (README "Security and limits"). */
  limits: ServerLimits;
  ignored: string[];
}

export interface ServerLimits {
  /** --read-buffer-size (legacy --dapr-http-read-buffer-size, KB): max HTTP request header bytes. */
  readBufferSize: number;
  /** --read-header-timeout: ms a client may take to send a request's headers (0: no bound). */
  readHeaderTimeoutMs: number;
  /** --read-request-timeout: ms a client may take to send a whole request (0: no bound). */
  readRequestTimeoutMs: number;
  /** --keep-alive-timeout: ms an idle HTTP keep-alive connection is kept. */
  keepAliveTimeoutMs: number;
  /** --max-connections: open connections per API server (0: no cap). */
  maxConnections: number;
  /** --max-concurrent-requests: calls in progress across the API servers (0: no cap). */
  maxConcurrentRequests: number;
}

const port = (name: string) => (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new InvalidArgumentError(`${name} must be a port number (0-65535).`);
  return n;
};

const int = (v: string) => {
  if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError('must be an integer.');
  return Number(v);
};

const bool = (v: string) => {
  if (/^(true|1|t)$/i.test(v)) return true;
  if (/^(false|0|f)$/i.test(v)) return false;
  throw new InvalidArgumentError('must be true or false.');
};

const quantity = (v: string) => {
  try {
    return parseQuantity(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

const collect = (v: string, prev: string[] = []) => [...prev, ...v.split(',').filter(Boolean)];

/** k=v,k2=v2 (repeatable), as --xds-node-metadata takes it. */
const keyValues = (v: string, prev: Record<string, string> = {}) => {
  const out = { ...prev };
  for (const pair of v.split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`"${pair}" is not key=value.`);
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
};

/** daprd flags accepted for compatibility whose features are not implemented yet. */
const ACCEPTED_UNUSED = [
  'dapr-public-port',
  'dapr-public-listen-address',
  'profile-port',
  'unix-domain-socket',
  'dapr-block-shutdown-duration',
  'allowed-origins',
  'placement-host-address',
  'scheduler-host-address',
  'sentry-address',
  'control-plane-address',
  'control-plane-trust-domain',
  'control-plane-namespace',
  'disable-init-endpoints',
  'app-binding-options-timeout',
  'actors-disseminate-timeout',
];
const ACCEPTED_UNUSED_BOOL = ['enable-profiling', 'app-ssl', 'wait'];

const nonNegative = (name: string) => (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be 0 or a positive integer.`);
  return Number(v);
};

/** A Go duration ("500ms", "10s", "1m30s") or plain seconds, in ms. */
const duration = (v: string) => {
  try {
    return parseDuration(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

const positive = (name: string) => (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError(`${name} must be a positive integer.`);
  return Number(v);
};

export function buildCommand(): Command {
  const cmd = new Command('layotto-ts')
    .description('Application runtime sidecar: the Dapr HTTP/gRPC APIs and the Layotto gRPC API over one component layer')
    .addOption(new Option('--app-id <id>', 'the id of the application').default(''))
    .addOption(new Option('--app-port <port>', 'the port the application listens on').argParser(port('--app-port')))
    .addOption(new Option('--app-protocol <protocol>', 'protocol of the app channel').choices(['http', 'https', 'grpc', 'grpcs', 'h2c']).default('http'))
    .addOption(new Option('--app-channel-address <address>', 'network address the application listens on').default('127.0.0.1'))
    .addOption(new Option('--app-max-concurrency <n>', 'max concurrent calls into the app (-1 = unlimited)').argParser(int).default(-1))
    .addOption(new Option('--enable-app-health-check [bool]', 'probe the app and hold calls to it while it is unhealthy').argParser(bool).default(false))
    .addOption(new Option('--app-health-check-path <path>', 'path probed on HTTP apps').default('/healthz'))
    .addOption(new Option('--app-health-probe-interval <s>', 'seconds between health probes').argParser(positive('--app-health-probe-interval')).default(5))
    .addOption(new Option('--app-health-probe-timeout <ms>', 'milliseconds a health probe may take').argParser(positive('--app-health-probe-timeout')).default(500))
    .addOption(new Option('--app-health-threshold <n>', 'failed probes in a row before the app counts as unhealthy').argParser(positive('--app-health-threshold')).default(3))
    .addOption(new Option('--dapr-http-port <port>', 'Dapr HTTP API port').argParser(port('--dapr-http-port')).default(3500))
    .addOption(new Option('--dapr-grpc-port <port>', 'Dapr gRPC API port').argParser(port('--dapr-grpc-port')).default(50001))
    .addOption(new Option('--dapr-internal-grpc-port <port>', 'sidecar-to-sidecar gRPC port (default: a stable free port per app id)').argParser(port('--dapr-internal-grpc-port')))
    .addOption(new Option('--dapr-internal-grpc-listen-address <address>', 'address the sidecar-to-sidecar server listens on (default: all)').default(''))
    .addOption(new Option('--layotto-grpc-port <port>', 'Layotto gRPC API port (0 turns it off)').argParser(port('--layotto-grpc-port')).default(34904))
    .addOption(new Option('--actuator-port <port>', "Layotto's actuator HTTP port: health, info, log levels (0 turns it off)").argParser(port('--actuator-port')).default(34999))
    .addOption(new Option('--actuator-listen-address <address>', 'address the actuator listens on').default('127.0.0.1'))
    .addOption(new Option('--xds-server <host:port>', 'xDS control plane (ADS over plaintext gRPC, e.g. istiod:15010) the mesh proxy takes listeners, routes, clusters and endpoints from'))
    .addOption(new Option('--xds-node-id <id>', 'node id sent to the xDS control plane (default: the app id)'))
    .addOption(new Option('--xds-node-cluster <name>', 'node cluster sent to the xDS control plane (default: the app id)'))
    .addOption(new Option('--xds-node-metadata <k=v,...>', 'node metadata sent to the xDS control plane (repeatable)').argParser(keyValues))
    .addOption(new Option('--dashboard-port <port>', 'port of the dashboard web page (default: off; 0: any free port)').argParser(port('--dashboard-port')))
    .addOption(new Option('--dashboard-address <address>', 'address the dashboard listens on').default('127.0.0.1'))
    .addOption(new Option('--faas-port <port>', 'WebAssembly functions port, called with header "id: <function>" (default: 2045 when a function is declared or the admin API is on; 0 turns it off)').argParser(port('--faas-port')))
    .addOption(new Option('--faas-listen-address <address>', 'address the functions port listens on (default: the API servers\' first address)'))
    .addOption(new Option('--faas-admin-port <port>', "Layotto's function admin API: POST /wasm/install, /wasm/update, /wasm/uninstall (default: off; Layotto uses 34998)").argParser(port('--faas-admin-port')))
    .addOption(new Option('--faas-admin-listen-address <address>', "address the function admin API listens on (default: config.json's wasm_filter listener, else 127.0.0.1)"))
    .addOption(new Option('--dapr-listen-addresses <list>', 'comma-separated addresses the APIs listen on (default: all)').argParser(collect))
    .addOption(new Option('--resources-path <dir>', 'directory of resource YAML files (repeatable)').argParser(collect))
    .addOption(new Option('--components-path <dir>', 'alias of --resources-path (deprecated in daprd)').argParser(collect).hideHelp())
    .addOption(new Option('--config <file>', 'Configuration resource file (repeatable)').argParser(collect))
    .addOption(new Option('--hot-reload [bool]', 'apply edits to the resources, --config and config.json files while running (false: read them at startup only)').argParser(bool).default(true))
    .addOption(new Option('--metrics-port <port>', 'port of the Prometheus metrics endpoint').argParser(port('--metrics-port')).default(9090))
    .addOption(new Option('--enable-metrics [bool]', 'serve Prometheus metrics').argParser(bool).default(true))
    .addOption(new Option('--metrics-listen-address <addr>', 'address the metrics endpoint listens on (default: every interface)').default(''))
    .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error', 'fatal']).default('info'))
    .addOption(new Option('--log-as-json [bool]', 'write logs as JSON in Dapr\'s fields').argParser(bool).default(false))
    .addOption(new Option('--enable-api-logging [bool]', 'log every API call (overrides Configuration logging.apiLogging)').argParser(bool))
    .addOption(new Option('--max-body-size <size>', 'max request/response body size, e.g. 4Mi').argParser(quantity).default(4 * 1024 * 1024, '4Mi'))
    .addOption(new Option('--dapr-http-max-request-size <mb>', 'legacy: max request body size in MB').argParser(int))
    .addOption(new Option('--read-buffer-size <size>', 'max size of HTTP request headers, e.g. 16Ki').argParser(quantity).default(4 * 1024, '4Ki'))
    .addOption(new Option('--dapr-http-read-buffer-size <kb>', 'legacy: max size of HTTP request headers in KB').argParser(nonNegative('--dapr-http-read-buffer-size')))
    .addOption(new Option('--read-header-timeout <duration>', 'time a client may take to send request headers (0: no bound)').argParser(duration).default(10_000, '10s'))
    .addOption(new Option('--read-request-timeout <duration>', 'time a client may take to send a whole request, body included (0: no bound)').argParser(duration).default(300_000, '5m'))
    .addOption(new Option('--keep-alive-timeout <duration>', 'idle time after which an HTTP keep-alive connection is closed').argParser(duration).default(72_000, '72s'))
    .addOption(new Option('--max-connections <n>', 'open connections per API server; more are closed at once (0: no cap)').argParser(nonNegative('--max-connections')).default(0))
    .addOption(new Option('--max-concurrent-requests <n>', 'API calls in progress at once; more are refused with 503 / UNAVAILABLE (0: no cap)').argParser(nonNegative('--max-concurrent-requests')).default(0))
    .addOption(new Option('--dapr-graceful-shutdown-seconds <s>', 'grace period for in-flight requests on shutdown').argParser(int).default(5))
    .addOption(new Option('--enable-mtls [bool]', 'mutual TLS between sidecars (default: Configuration spec.mtls.enabled)').argParser(bool))
    .addOption(new Option('--trust-anchors-file <file>', 'PEM trust bundle for sidecar mTLS (or env DAPR_TRUST_ANCHORS_FILE / DAPR_TRUST_ANCHORS)'))
    .addOption(new Option('--cert-chain-file <file>', "PEM workload certificate chain for sidecar mTLS, leaf first, SPIFFE ID spiffe://<td>/ns/<ns>/<app-id> (or env DAPR_CERT_CHAIN)"))
    .addOption(new Option('--cert-key-file <file>', 'PEM private key of the workload certificate (or env DAPR_CERT_KEY)'))
    .addOption(new Option('--api-tls-cert-file <file>', 'PEM certificate (chain) served by the Dapr HTTP/gRPC and Layotto gRPC APIs: turns TLS on'))
    .addOption(new Option('--api-tls-key-file <file>', 'PEM private key of --api-tls-cert-file'))
    .addOption(new Option('--api-tls-ca-file <file>', 'PEM CA bundle: API clients must present a certificate it signed'))
    .addOption(new Option('--mode <mode>', 'runtime mode').choices(['standalone', 'kubernetes']).default('standalone'))
    .addOption(new Option('-c, --config-file <file>', "Layotto's config.json (components, gRPC listener, app); as `layotto start -c`"))
    .usage('[start [-c config.json]] [options]')
    .helpOption('-h, --help', 'show this help')
    .version(require('../../package.json').version as string, '--version')
    .showHelpAfterError(false)
    .allowExcessArguments(false);
  for (const name of ACCEPTED_UNUSED) cmd.addOption(new Option(`--${name} <value>`).hideHelp());
  for (const name of ACCEPTED_UNUSED_BOOL) cmd.addOption(new Option(`--${name} [bool]`).argParser(bool).hideHelp());
  return cmd;
}

/** Parses argv (without node and script) into Flags; commander prints a one-line reason and exits on errors. */
export function parseFlags(argv: string[], cmd = buildCommand()): Flags {
  // `start` is Layotto's subcommand; without -c it reads $RUNTIME_CONFIG or configs/config.json as Layotto does.
  const start = argv[0] === 'start';
  cmd.parse(start ? argv.slice(1) : argv, { from: 'user' });
  const o = cmd.opts();
  const layottoFile: string | undefined = o.configFile ?? (start ? process.env.RUNTIME_CONFIG || 'configs/config.json' : undefined);
  const ignored = [...ACCEPTED_UNUSED, ...ACCEPTED_UNUSED_BOOL].filter((n) => o[camel(n)] !== undefined);
  const legacyMb = o.daprHttpMaxRequestSize as number | undefined;
  const maxBodySizeFromFlag = cmd.getOptionValueSource('maxBodySize') === 'cli';
  if (o.readRequestTimeout > 0 && o.readHeaderTimeout > o.readRequestTimeout) {
    cmd.error('error: --read-header-timeout must not be longer than --read-request-timeout');
  }
  const legacyReadKb = o.daprHttpReadBufferSize as number | undefined;
  const readBufferFromFlag = cmd.getOptionValueSource('readBufferSize') === 'cli';
  if (o.enableAppHealthCheck && o.appHealthProbeTimeout > o.appHealthProbeInterval * 1000) {
    cmd.error('error: app health checks probe timeouts must be smaller than probe intervals');
  }
  return {
    appId: o.appId,
    appPort: o.appPort,
    appProtocol: o.appProtocol,
    appChannelAddress: o.appChannelAddress,
    appMaxConcurrency: o.appMaxConcurrency,
    appHealth: {
      enabled: o.enableAppHealthCheck,
      path: o.appHealthCheckPath,
      intervalMs: o.appHealthProbeInterval * 1000,
      timeoutMs: o.appHealthProbeTimeout,
      threshold: o.appHealthThreshold,
    },
    daprHttpPort: o.daprHttpPort,
    daprGrpcPort: o.daprGrpcPort,
    daprInternalGrpcPort: o.daprInternalGrpcPort || undefined,
    daprInternalGrpcListenAddress: o.daprInternalGrpcListenAddress,
    layottoGrpcPort: o.layottoGrpcPort,
    actuator: { port: o.actuatorPort, listenAddress: o.actuatorListenAddress },
    xds: o.xdsServer ? { server: o.xdsServer, node: { id: o.xdsNodeId || o.appId || 'layotto-ts', cluster: o.xdsNodeCluster || o.appId || 'layotto-ts', metadata: o.xdsNodeMetadata ?? {} } } : undefined,
    dashboard: { port: o.dashboardPort, address: o.dashboardAddress },
    faas: { port: o.faasPort, listenAddress: o.faasListenAddress, adminPort: o.faasAdminPort || undefined, adminListenAddress: o.faasAdminListenAddress },
    listenAddresses: o.daprListenAddresses ?? [],
    resourcesPaths: [...(o.resourcesPath ?? []), ...(o.componentsPath ?? [])],
    config: o.config ?? [],
    hotReload: o.hotReload,
    metricsPort: o.metricsPort,
    enableMetrics: o.enableMetrics,
    metricsListenAddress: o.metricsListenAddress,
    logLevel: o.logLevel,
    logAsJson: o.logAsJson,
    enableApiLogging: o.enableApiLogging,
    maxBodySize: !maxBodySizeFromFlag && legacyMb !== undefined ? legacyMb * 1024 * 1024 : o.maxBodySize,
    gracefulShutdownSeconds: o.daprGracefulShutdownSeconds,
    mode: o.mode,
    layottoConfig: layottoFile ? { file: layottoFile, fromCli: LAYOTTO_SETTABLE.filter((k) => cmd.getOptionValueSource(k) === 'cli') } : undefined,
    mtls: { enabled: o.enableMtls, trustAnchorsFile: o.trustAnchorsFile, certChainFile: o.certChainFile, certKeyFile: o.certKeyFile },
    apiTls: { certFile: o.apiTlsCertFile, keyFile: o.apiTlsKeyFile, caFile: o.apiTlsCaFile },
    limits: {
      readBufferSize: !readBufferFromFlag && legacyReadKb !== undefined ? legacyReadKb * 1024 : o.readBufferSize,
      readHeaderTimeoutMs: o.readHeaderTimeout,
      readRequestTimeoutMs: o.readRequestTimeout,
      keepAliveTimeoutMs: o.keepAliveTimeout,
      maxConnections: o.maxConnections,
      maxConcurrentRequests: o.maxConcurrentRequests,
    },
    ignored,
  };
}

/** Flags config.json can also set (app id and channel, Layotto gRPC port). */
const LAYOTTO_SETTABLE = ['appId', 'appPort', 'appProtocol', 'appChannelAddress', 'layottoGrpcPort'];

const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
