import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfiguration } from '../config/configuration';
import { ComponentStore } from '../components/store';
import { FilterChain } from '../mesh/chain';
import type { Exchange } from '../mesh/filter';
import { loadResources } from './loader';
import { pipelineFilters } from './pipeline';
import { ComponentProcessor } from './processor';

const log = pino({ level: 'silent' });

const comp = (name: string, type: string, md: Record<string, string>, extra = '') =>
  `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: ${type}\n  version: v1\n  metadata:\n${Object.entries(md)
    .map(([k, v]) => `  - {name: ${k}, value: '${v}'}\n`)
    .join('')}${extra}`;
const handlers = (key: string, list: [string, string][]) => `  ${key}:\n    handlers:\n${list.map(([n, t]) => `    - {name: ${n}, type: ${t}}\n`).join('')}`;

async function build(resources: Record<string, string>, spec: string, opts: { appId?: string; env?: NodeJS.ProcessEnv; streamFilters?: { type: string; config?: unknown }[] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-'));
  for (const [f, text] of Object.entries(resources)) writeFileSync(join(dir, f), text);
  const cfgFile = join(mkdtempSync(join(tmpdir(), 'pipeline-cfg-')), 'config.yaml');
  writeFileSync(cfgFile, `apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: c\nspec:\n${spec}`);
  const appId = opts.appId ?? 'app1';
  const processor = new ComponentProcessor(new ComponentStore(), { appId, namespace: '', log, env: opts.env });
  const loaded = loadResources([dir], log);
  await processor.applyAll(loaded.components);
  const filters = await pipelineFilters({ config: loadConfiguration([cfgFile]), components: loaded.components, streamFilters: opts.streamFilters, properties: (i) => processor.properties(i), appId, namespace: '', log });
  return { filters, chain: new FilterChain(filters), cfgFile, dir };
}

const ex = (api: Exchange['api'], path: string): Exchange => ({ api, protocol: api === 'dapr-http' ? 'http' : 'grpc', verb: 'GET', route: path, path, headers: {}, remoteAddress: '127.0.0.1', streaming: false, startNs: 0n, attrs: new Map() });

describe('middleware pipelines', () => {
  it('builds httpPipeline handlers on the Dapr HTTP API only; the processor leaves middleware to it', async () => {
    const { filters, chain } = await build({ 'rl.yaml': comp('rl', 'middleware.http.ratelimit', { maxRequestsPerSecond: '1' }) }, handlers('httpPipeline', [['rl', 'middleware.http.ratelimit']]));
    expect(filters.map((f) => f.apis)).toEqual([['dapr-http']]);
    expect(await chain.request(ex('dapr-http', '/v1.0/state/s/k'))).toBeUndefined();
    expect((await chain.request(ex('dapr-http', '/v1.0/state/s/k')))?.http.status).toBe(429);
    expect(chain.isEmpty('dapr-grpc')).toBe(true);
  });

  it('builds grpcPipeline handlers on the Dapr and Layotto gRPC APIs, metadata from env', async () => {
    const yaml = comp('flow', 'middleware.grpc.flowcontrol', {}, '  - {name: rules, envRef: FLOW_RULES}\n');
    const { chain } = await build({ 'flow.yaml': yaml }, handlers('grpcPipeline', [['flow', 'middleware.grpc.flowcontrol']]), { env: { FLOW_RULES: '[{"resource": "/m", "threshold": 1}]' } });
    expect(chain.isEmpty('dapr-http')).toBe(true);
    expect(await chain.request(ex('dapr-grpc', '/m'))).toBeUndefined();
    expect((await chain.request(ex('layotto-grpc', '/m')))?.grpc).toEqual({ code: 2, details: 'current request is limited' });
  });

  it("builds Layotto's flowControlFilter from stream_filters and skips the types it does not know", async () => {
    const streamFilters = [{ type: 'flowControlFilter', config: { global_switch: true, rules: [{ resource: '/m', threshold: 0 }] } }, { type: 'grpc_metric' }];
    const { filters, chain } = await build({}, '  {}\n', { streamFilters });
    expect(filters).toHaveLength(1);
    expect(await chain.request(ex('layotto-grpc', '/m'))).toBeDefined();
    expect(await chain.request(ex('dapr-http', '/m'))).toBeUndefined();
  });

  it('keeps middleware nobody names out of the chain', async () => {
    const { filters } = await build({ 'rl.yaml': comp('rl', 'middleware.http.ratelimit', { maxRequestsPerSecond: '-1' }) }, '  {}\n');
    expect(filters).toEqual([]);
  });

  it('an unknown handler name stops startup, pointing at the Configuration', async () => {
    await expect(build({ 'rl.yaml': comp('rl', 'middleware.http.ratelimit', {}) }, handlers('httpPipeline', [['other', 'middleware.http.ratelimit']]))).rejects.toThrow(
      /config\.yaml:8: spec\.httpPipeline\.handlers: couldn't find middleware component with name other and type middleware\.http\.ratelimit\/v1$/,
    );
  });

  it('a handler whose type differs from the component, or a component scoped to another app, is not found', async () => {
    await expect(build({ 'rl.yaml': comp('rl', 'middleware.http.ratelimit', {}) }, handlers('httpPipeline', [['rl', 'middleware.http.oauth2']]))).rejects.toThrow(/couldn't find middleware component with name rl/);
    await expect(build({ 'rl.yaml': comp('rl', 'middleware.http.ratelimit', {}, 'scopes: [other]\n') }, handlers('httpPipeline', [['rl', 'middleware.http.ratelimit']]))).rejects.toThrow(/couldn't find middleware component with name rl/);
  });

  it('bad metadata points at its entry; an unsupported middleware type at spec.type', async () => {
    await expect(build({ 'rl.yaml': comp('rl', 'middleware.http.ratelimit', { maxRequestsPerSecond: '-1' }) }, handlers('httpPipeline', [['rl', 'middleware.http.ratelimit']]))).rejects.toThrow(
      /rl\.yaml:9: spec\.metadata\.maxRequestsPerSecond: component rl \(middleware\.http\.ratelimit\) failed to initialize: metadata field "maxRequestsPerSecond": must be a positive value/,
    );
    await expect(build({ 'o.yaml': comp('o', 'middleware.http.oauth2', {}) }, handlers('httpPipeline', [['o', 'middleware.http.oauth2']]))).rejects.toThrow(
      /o\.yaml:6: spec\.type: couldn't find middleware type middleware\.http\.oauth2 \(known: middleware\.grpc\.flowcontrol, middleware\.http\.ratelimit\)/,
    );
  });
});
