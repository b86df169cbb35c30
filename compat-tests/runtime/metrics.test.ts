// Prometheus metrics and API logging with the built binary: the real @dapr/dapr SDK (HTTP and gRPC)
// and the Layotto SDK drive state, pub/sub, secrets, configuration, lock, bindings (output and cron
// input) and invocation between two sidecars on
// in-memory components; /metrics (any path) must show daprd's families with its label sets and
// counts that grow by the calls made, bounded label sets for 1000 distinct keys, Layotto's
// grpc_metric families, dapr_error_code_total with recordErrorCodes, nothing with metrics off, and
// one "HTTP API Called" / "gRPC API Called" line per call in --log-as-json output.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import { CommunicationProtocolEnum, DaprClient, HttpMethod, LogLevel } from '@dapr/dapr';
import { componentYaml, freePort, type Sidecar, startSidecar } from '../helpers/sidecar';
import { until } from '../../test/wait';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Client } = require('layotto') as typeof import('layotto');

const quiet = () => {};
const SILENT = { level: LogLevel.Error, service: { error: quiet, warn: quiet, info: quiet, verbose: quiet, debug: quiet } };
const APP = 'metrics-app';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (enough for these assertions). */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

async function scrape(sc: Sidecar, path = '/metrics'): Promise<Sample[]> {
  const r = await fetch(`http://127.0.0.1:${sc.metricsPort}${path}`);
  expect(r.status).toBe(200);
  return parse(await r.text());
}

const sum = (samples: Sample[], name: string, where: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
const series = (samples: Sample[], name: string) => samples.filter((s) => s.name === name).length;
const labelKeys = (samples: Sample[], name: string) => Object.keys(samples.find((s) => s.name === name)?.labels ?? {}).sort();

function configFile(yaml: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'layotto-ts-metrics-')), 'config.yaml');
  writeFileSync(file, yaml);
  return file;
}

const RESOURCES = {
  'state.yaml': componentYaml('statestore', 'state.in-memory'),
  'pubsub.yaml': componentYaml('pubsub', 'pubsub.in-memory'),
  'secrets.yaml': componentYaml('secretstore', 'secretstores.local.env'),
  'config.yaml': componentYaml('configstore', 'configuration.in-memory'),
  'lock.yaml': componentYaml('lockstore', 'lock.in-memory'),
};

describe('metrics: daprd families on the metrics port', () => {
  let sc: Sidecar;
  let http: DaprClient;
  let grpc: DaprClient;

  beforeAll(async () => {
    sc = await startSidecar({
      appId: APP,
      resources: RESOURCES,
      env: { METRICS_SECRET: 's3cret' },
      args: ['--config', configFile('apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: m}\nspec:\n  metrics:\n    enabled: true\n    recordErrorCodes: true\n')],
    });
    http = new DaprClient({ daprHost: '127.0.0.1', daprPort: String(sc.httpPort), communicationProtocol: CommunicationProtocolEnum.HTTP, logger: SILENT });
    grpc = new DaprClient({ daprHost: '127.0.0.1', daprPort: String(sc.grpcPort), communicationProtocol: CommunicationProtocolEnum.GRPC, logger: SILENT });
  });
  afterAll(async () => {
    await grpc?.stop();
    await http?.stop();
    await sc?.stop();
  });

  it('serves the registry on every path, with process/nodejs defaults and component loading', async () => {
    const a = await scrape(sc, '/');
    const b = await scrape(sc, '/anything/else');
    expect(series(a, 'process_cpu_user_seconds_total')).toBe(1);
    expect(series(b, 'nodejs_heap_size_total_bytes')).toBe(1);
    expect(sum(a, 'dapr_runtime_component_loaded', { app_id: APP })).toBe(5);
    expect(sum(a, 'dapr_runtime_component_init_total', { app_id: APP, component: 'state.in-memory' })).toBe(1);
  });

  it('counts HTTP server calls by verb, templated path and status; 1000 distinct keys add no series', async () => {
    const before = await scrape(sc);
    for (let i = 0; i < 1000; i++) await http.state.save('statestore', [{ key: `k-${i}`, value: i }]);
    await http.state.get('statestore', 'k-1');
    const after = await scrape(sc);
    const saved = { app_id: APP, method: 'POST', path: '/v1.0/state/:storeName', status: '204' };
    expect(sum(after, 'dapr_http_server_request_count', saved) - sum(before, 'dapr_http_server_request_count', saved)).toBe(1000);
    expect(sum(after, 'dapr_http_server_request_count', { method: 'GET', path: '/v1.0/state/:storeName/:key', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(labelKeys(after, 'dapr_http_server_request_count')).toEqual(['app_id', 'method', 'path', 'status']);
    expect(labelKeys(after, 'dapr_http_server_latency_bucket')).toEqual(['app_id', 'le', 'method', 'path', 'status']);
    expect(sum(after, 'dapr_http_server_latency_count', saved)).toBe(sum(after, 'dapr_http_server_request_count', saved));
    expect(after.filter((s) => s.name === 'dapr_http_server_request_count' && s.labels.path === '/v1.0/state/:storeName')).toHaveLength(1);
    expect(after.some((s) => Object.values(s.labels).some((v) => v.includes('k-5')))).toBe(false);
    expect(sum(after, 'dapr_http_server_request_bytes_count', { app_id: APP })).toBeGreaterThanOrEqual(1001);
    // Component family: one set per call, labels as daprd's.
    expect(sum(after, 'dapr_component_state_count', { app_id: APP, component: 'statestore', namespace: '', operation: 'set', success: 'true' }) - sum(before, 'dapr_component_state_count', { operation: 'set' })).toBe(1000);
    expect(labelKeys(after, 'dapr_component_state_count')).toEqual(['app_id', 'component', 'namespace', 'operation', 'success']);
  });

  it('counts gRPC calls by full method and Go status name, with message sizes for unary calls', async () => {
    const before = await scrape(sc);
    await grpc.state.save('statestore', [{ key: 'g1', value: 'v' }]);
    await grpc.state.get('statestore', 'g1');
    await expect(grpc.state.get('nostore', 'g1')).rejects.toBeDefined();
    const after = await scrape(sc);
    const get = { app_id: APP, grpc_server_method: '/dapr.proto.runtime.v1.Dapr/GetState' };
    expect(sum(after, 'dapr_grpc_io_server_completed_rpcs', { ...get, grpc_server_status: 'OK' }) - sum(before, 'dapr_grpc_io_server_completed_rpcs', { ...get, grpc_server_status: 'OK' })).toBe(1);
    expect(sum(after, 'dapr_grpc_io_server_completed_rpcs', { ...get, grpc_server_status: 'InvalidArgument' }) - sum(before, 'dapr_grpc_io_server_completed_rpcs', { ...get, grpc_server_status: 'InvalidArgument' })).toBe(1);
    expect(sum(after, 'dapr_grpc_io_server_completed_rpcs', { grpc_server_method: '/dapr.proto.runtime.v1.Dapr/SaveState', grpc_server_status: 'OK' })).toBeGreaterThanOrEqual(1);
    expect(labelKeys(after, 'dapr_grpc_io_server_server_latency_bucket')).toEqual(['app_id', 'grpc_server_method', 'grpc_server_status', 'le']);
    expect(sum(after, 'dapr_grpc_io_server_received_bytes_per_rpc_sum', get)).toBeGreaterThan(0);
    expect(sum(after, 'dapr_grpc_io_server_sent_bytes_per_rpc_count', get)).toBeGreaterThanOrEqual(2);
  });

  it('records pub/sub egress, secrets, configuration and error codes', async () => {
    const before = await scrape(sc);
    await http.pubsub.publish('pubsub', 'orders', { id: 1 });
    await grpc.pubsub.publish('pubsub', 'orders', { id: 2 });
    await http.secret.get('secretstore', 'METRICS_SECRET');
    await grpc.configuration.get('configstore', ['a']);
    await expect(http.state.get('nostore', 'x')).rejects.toBeDefined();
    const after = await scrape(sc);
    const egress = { app_id: APP, component: 'pubsub', namespace: '', success: 'true', topic: 'orders' };
    expect(sum(after, 'dapr_component_pubsub_egress_count', egress) - sum(before, 'dapr_component_pubsub_egress_count', egress)).toBe(2);
    expect(sum(after, 'dapr_component_secret_count', { component: 'secretstore', operation: 'get', success: 'true' }) - sum(before, 'dapr_component_secret_count', { operation: 'get' })).toBe(1);
    expect(sum(after, 'dapr_component_configuration_count', { component: 'configstore', operation: 'get' }) - sum(before, 'dapr_component_configuration_count', { operation: 'get' })).toBe(1);
    expect(sum(after, 'dapr_error_code_total', { app_id: APP, error_code: 'ERR_STATE_STORE_NOT_FOUND', category: 'state' })).toBeGreaterThanOrEqual(1);
  });

  it('Layotto face: daprd gRPC families and grpc_metric per full method', async () => {
    const client = new Client(String(sc.layottoPort), '127.0.0.1');
    try {
      const before = await scrape(sc);
      await client.state.save({ storeName: 'statestore', states: [{ key: 'l1', value: 'v' }] });
      await client.state.get({ storeName: 'statestore', key: 'l1' });
      await expect(client.state.get({ storeName: 'nostore', key: 'l1' })).rejects.toBeDefined();
      await client.lock.tryLock({ storeName: 'lockstore', resourceId: 'r1', lockOwner: 'o', expire: 10 });
      const after = await scrape(sc);
      const get = { service: '/spec.proto.runtime.v1.Runtime/GetState' };
      expect(sum(after, 'grpc_request_total', get) - sum(before, 'grpc_request_total', get)).toBe(2);
      expect(sum(after, 'grpc_response_succ_total', get) - sum(before, 'grpc_response_succ_total', get)).toBe(1);
      expect(sum(after, 'grpc_response_fail_total', get) - sum(before, 'grpc_response_fail_total', get)).toBe(1);
      expect(sum(after, 'grpc_cost_time_count', get)).toBeGreaterThanOrEqual(2);
      expect(sum(after, 'grpc_request_total', { service: '/spec.proto.runtime.v1.Runtime/TryLock' })).toBeGreaterThanOrEqual(1);
      expect(sum(after, 'dapr_grpc_io_server_completed_rpcs', { grpc_server_method: '/spec.proto.runtime.v1.Runtime/SaveState', grpc_server_status: 'OK' })).toBeGreaterThanOrEqual(1);
    } finally {
      client.close();
    }
  });
});

describe('metrics: service invocation and bindings across two sidecars', () => {
  const CALLER = 'metrics-caller';
  const CALLEE = 'metrics-callee';
  let app: Server;
  let ticks = 0;
  let caller: Sidecar;
  let callee: Sidecar;
  let client: DaprClient;
  let calleeClient: DaprClient;

  beforeAll(async () => {
    // The callee's app: answers every invocation, listens to the cron binding "tick".
    app = createServer((req, res) => {
      if (req.url === '/tick' && req.method === 'POST') ticks++;
      req.resume();
      // No programmatic subscriptions: /dapr/* is not served.
      req.on('end', () => (req.url?.startsWith('/dapr/') ? res.writeHead(404).end() : res.writeHead(200, { 'content-type': 'text/plain' }).end('pong')));
    });
    const appPort = await freePort();
    await new Promise<void>((r) => app.listen(appPort, '127.0.0.1', r));
    const files = mkdtempSync(join(tmpdir(), 'layotto-ts-metrics-files-'));
    callee = await startSidecar({
      appId: CALLEE,
      resources: { 'tick.yaml': componentYaml('tick', 'bindings.cron', { schedule: '@every 1s' }), 'files.yaml': componentYaml('files', 'bindings.localstorage', { rootPath: files }) },
      args: ['--app-port', String(appPort)],
    });
    caller = await startSidecar({ appId: CALLER, resources: {} });
    client = new DaprClient({ daprHost: '127.0.0.1', daprPort: String(caller.httpPort), communicationProtocol: CommunicationProtocolEnum.HTTP, logger: SILENT });
    calleeClient = new DaprClient({ daprHost: '127.0.0.1', daprPort: String(callee.grpcPort), communicationProtocol: CommunicationProtocolEnum.GRPC, logger: SILENT });
  });
  afterAll(async () => {
    await calleeClient?.stop();
    await client?.stop();
    await Promise.all([caller?.stop(), callee?.stop()]);
    await new Promise((r) => app?.close(r));
  });

  it('counts invocations sent, received and answered on both sidecars, and the callee\'s calls into its app', async () => {
    const [beforeCaller, beforeCallee] = await Promise.all([scrape(caller), scrape(callee)]);
    for (let i = 0; i < 3; i++) expect(await client.invoker.invoke(CALLEE, 'ping', HttpMethod.GET)).toBe('pong');
    const [afterCaller, afterCallee] = await Promise.all([scrape(caller), scrape(callee)]);
    const delta = (a: Sample[], b: Sample[], name: string, where: Record<string, string>) => sum(a, name, where) - sum(b, name, where);
    expect(delta(afterCaller, beforeCaller, 'dapr_runtime_service_invocation_req_sent_total', { app_id: CALLER, dst_app_id: CALLEE })).toBe(3);
    expect(delta(afterCaller, beforeCaller, 'dapr_runtime_service_invocation_res_recv_total', { app_id: CALLER, src_app_id: CALLEE, status: '200' })).toBe(3);
    expect(delta(afterCaller, beforeCaller, 'dapr_runtime_service_invocation_res_recv_latency_ms_count', { app_id: CALLER, src_app_id: CALLEE })).toBe(3);
    expect(delta(afterCaller, beforeCaller, 'dapr_http_server_request_count', { app_id: CALLER, method: 'GET', path: '/v1.0/invoke/:appId/method/*', status: '200' })).toBe(3);
    expect(delta(afterCallee, beforeCallee, 'dapr_runtime_service_invocation_req_recv_total', { app_id: CALLEE, src_app_id: CALLER })).toBe(3);
    expect(delta(afterCallee, beforeCallee, 'dapr_runtime_service_invocation_res_sent_total', { app_id: CALLEE, dst_app_id: CALLER, status: '200' })).toBe(3);
    // The callee's calls into its HTTP app: daprd's client families.
    expect(delta(afterCallee, beforeCallee, 'dapr_http_client_completed_count', { app_id: CALLEE, status: '200' })).toBe(3);
    expect(delta(afterCallee, beforeCallee, 'dapr_http_client_roundtrip_latency_count', { app_id: CALLEE, status: '200' })).toBe(3);
  });

  it('counts output binding operations and input binding events', async () => {
    const before = await scrape(callee);
    await calleeClient.binding.send('files', 'create', 'hello', { fileName: 'a.txt' });
    await until(() => ticks >= 1, () => 'no cron event reached the app');
    const after = await scrape(callee);
    const created = { app_id: CALLEE, component: 'files', namespace: '', operation: 'create', success: 'true' };
    expect(sum(after, 'dapr_component_output_binding_count', created) - sum(before, 'dapr_component_output_binding_count', created)).toBe(1);
    expect(sum(after, 'dapr_component_output_binding_latencies_count', created)).toBeGreaterThanOrEqual(1);
    await until(async () => sum(await scrape(callee), 'dapr_component_input_binding_count', { app_id: CALLEE, component: 'tick', success: 'true' }) >= 1, () => 'no input binding count');
  });
});

describe('metrics: configuration and flags', () => {
  it('spec.metrics.enabled: false serves no metrics port', async () => {
    const sc = await startSidecar({ resources: RESOURCES, args: ['--config', configFile('apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: m}\nspec:\n  metrics:\n    enabled: false\n')] });
    try {
      await expect(fetch(`http://127.0.0.1:${sc.metricsPort}/`)).rejects.toThrow();
    } finally {
      await sc.stop();
    }
  });

  it('low cardinality with pathMatching and excludeVerbs, custom latency buckets', async () => {
    const cfg = ['apiVersion: dapr.io/v1alpha1', 'kind: Configuration', 'metadata: {name: m}', 'spec:', '  metrics:', '    latencyDistributionBuckets: [10, 100]', '    http:', '      increasedCardinality: false', '      pathMatching: ["/v1.0/state/{store}/{key}"]'].join('\n');
    const sc = await startSidecar({ resources: RESOURCES, args: ['--config', configFile(cfg)] });
    try {
      await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/state/statestore/a`);
      await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/metadata`);
      const s = await scrape(sc);
      expect(sum(s, 'dapr_http_server_request_count', { method: 'GetState', path: '/v1.0/state/{store}/{key}' })).toBe(1);
      expect(sum(s, 'dapr_http_server_request_count', { path: '' })).toBeGreaterThanOrEqual(1);
      expect(s.filter((x) => x.name === 'dapr_http_server_latency_bucket' && x.labels.method === 'GetState').map((x) => x.labels.le)).toEqual(['10', '100', '+Inf']);
    } finally {
      await sc.stop();
    }
  });
});

describe('API logging', () => {
  it('--enable-api-logging writes one line per call with daprd fields, on the http-info and grpc api-info scopes', async () => {
    const sc = await startSidecar({ resources: RESOURCES, args: ['--enable-api-logging', '--log-as-json'] });
    const grpc = new DaprClient({ daprHost: '127.0.0.1', daprPort: String(sc.grpcPort), communicationProtocol: CommunicationProtocolEnum.GRPC, logger: SILENT });
    try {
      await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/state/statestore/missing`, { headers: { 'user-agent': 'metrics-test' } });
      await grpc.state.get('statestore', 'missing');
      const lines = () => sc.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      await until(() => lines().some((l) => l.msg === 'gRPC API Called' && l.method === '/dapr.proto.runtime.v1.Dapr/GetState'), () => `no gRPC API line in:\n${sc.output()}`);
      const http = lines().find((l) => l.msg === 'HTTP API Called' && l.method === 'GET /v1.0/state/statestore/missing');
      expect(http).toMatchObject({ level: 'info', scope: 'dapr.runtime.http-info', code: 204, size: 0, useragent: 'metrics-test' });
      expect(typeof http!.duration).toBe('number');
      expect(lines().find((l) => l.msg === 'gRPC API Called')).toMatchObject({ scope: 'dapr.runtime.grpc.api-info', code: 0 });
    } finally {
      await grpc.stop();
      await sc.stop();
    }
  });

  it('Configuration logging.apiLogging with obfuscateURLs and omitHealthChecks', async () => {
    const cfg = 'apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: l}\nspec:\n  logging:\n    apiLogging:\n      enabled: true\n      obfuscateURLs: true\n      omitHealthChecks: true\n';
    const sc = await startSidecar({ resources: RESOURCES, args: ['--log-as-json', '--config', configFile(cfg)] });
    try {
      await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/state/statestore/secret-key-123`);
      await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/healthz`);
      const lines = () => sc.output().split('\n').filter((l) => l.includes('HTTP API Called'));
      await until(() => lines().length > 0, () => `no API line in:\n${sc.output()}`);
      expect(lines().join('\n')).not.toContain('secret-key-123');
      expect(lines().join('\n')).not.toContain('healthz');
      expect(lines().some((l) => (JSON.parse(l) as { method: string }).method === 'GetState')).toBe(true);
    } finally {
      await sc.stop();
    }
  });
});
