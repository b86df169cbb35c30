// Rate limits on the built sidecar. daprd's middleware.http.ratelimit through a Configuration
// httpPipeline: 100 req/s admitted per client and path under 500 req/s offered, refused ones
// answered as daprd does; the same limit shared by two sidecars through Redis. Layotto's
// flowControlFilter from config.json stream_filters on a unary rpc (SayHello), and the YAML
// middleware.grpc.flowcontrol through spec.grpcPipeline on a unary and a streaming rpc. Bad
// settings stop startup with a clear error. Load phases are bounded (about 4 s each) and count
// admissions per window; nothing here asserts latency.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { offer, offeredRate, perWindow, steadyRate } from '../helpers/load';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';
import { requireService } from '../../test/services';
import { sleep } from '../../test/wait';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Client } = require('layotto') as typeof import('layotto');

const UNKNOWN = 2;
const LIMITED = 'You have reached maximum request limit.';
const STATE = componentYaml('mem', 'state.in-memory');

function configFile(spec: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'layotto-ts-rl-')), 'config.yaml');
  writeFileSync(file, `apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: limits\nspec:\n${spec}`);
  return file;
}
const httpPipeline = (name = 'ratelimit') => configFile(`  httpPipeline:\n    handlers:\n    - name: ${name}\n      type: middleware.http.ratelimit\n`);

describe('middleware.http.ratelimit on the Dapr HTTP API', () => {
  let sc: Sidecar;
  let pool: Pool;
  beforeAll(async () => {
    sc = await startSidecar({ resources: { 'state.yaml': STATE, 'ratelimit.yaml': componentYaml('ratelimit', 'middleware.http.ratelimit', { maxRequestsPerSecond: '100' }) }, args: ['--config', httpPipeline()] });
    pool = new Pool(`http://127.0.0.1:${sc.httpPort}`, { connections: 16 });
  });
  afterAll(async () => {
    await pool?.close();
    await sc?.stop();
  });

  it('admits 100 ± 5% per second under 500 req/s offered', async () => {
    const outcomes = await offer([pool], '/v1.0/state/mem/k', 500, 6000);
    expect(outcomes.filter((o) => o.status === 0)).toEqual([]);
    expect(offeredRate(outcomes)).toBeGreaterThanOrEqual(95);
    expect(steadyRate(outcomes)).toBeLessThanOrEqual(105);
  }, 20000);

  it('answers a refused request as daprd: 429, text/plain, tollbooth message and headers', async () => {
    // A fresh path has a full bucket: the 101st request in a burst is refused. The burst is three
    // buckets' worth so a slow, busy machine (the bucket refills while it is sent) still sees refusals.
    const path = `/v1.0/state/mem/${randomUUID()}`;
    const answers = await Promise.all(Array.from({ length: 300 }, () => pool.request({ method: 'GET', path }).then(async (r) => ({ status: r.statusCode, headers: r.headers, body: await r.body.text() }))));
    const refused = answers.find((a) => a.status === 429)!;
    expect(answers.filter((a) => a.status === 204).length).toBeGreaterThanOrEqual(100);
    expect(refused.body).toBe(LIMITED);
    expect(refused.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(refused.headers['x-rate-limit-limit']).toBe('100.00');
    expect(refused.headers['x-rate-limit-duration']).toBe('1');
  });
});

describe('one limit shared by two sidecars through Redis', () => {
  let redisUp = false;
  let sidecars: Sidecar[] = [];
  let pools: Pool[] = [];
  beforeAll(async () => {
    redisUp = await requireService('redis', '127.0.0.1', 6379);
    if (!redisUp) return;
    const component = componentYaml('ratelimit', 'middleware.http.ratelimit', { maxRequestsPerSecond: '100', redisHost: 'localhost:6379', keyPrefix: `compat-rl-${randomUUID()}` });
    const config = httpPipeline();
    sidecars = await Promise.all([0, 1].map((i) => startSidecar({ appId: `rl-${i}`, resources: { 'state.yaml': STATE, 'ratelimit.yaml': component }, args: ['--config', config] })));
    pools = sidecars.map((s) => new Pool(`http://127.0.0.1:${s.httpPort}`, { connections: 8 }));
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
    await Promise.all(sidecars.map((s) => s.stop()));
  });

  it('admits 100 ± 5% per second in total, not twice it', async () => {
    if (!redisUp) return;
    const outcomes = await offer(pools, '/v1.0/state/mem/k', 250, 6000);
    expect(offeredRate(outcomes)).toBeGreaterThanOrEqual(95);
    // Redis counts in fixed windows of a second: each whole window admits the limit, not more.
    const windows = perWindow(outcomes);
    expect(windows.whole.length).toBeGreaterThanOrEqual(3);
    expect(windows.mean).toBeLessThanOrEqual(105);
  }, 20000);
});

describe("Layotto's flowControlFilter from config.json", () => {
  let sc: Sidecar;
  let client: InstanceType<typeof Client>;
  beforeAll(async () => {
    sc = await startSidecar({
      layottoConfig: (port) => ({
        servers: [
          {
            listeners: [
              {
                name: 'grpc',
                address: `127.0.0.1:${port}`,
                filter_chains: [{ filters: [{ type: 'grpc', config: { server_name: 'runtime', grpc_config: { hellos: { helloworld: { type: 'helloworld', hello: 'greeting' } }, app: { app_id: 'flow' } } } }] }],
                stream_filters: [{ type: 'flowControlFilter', config: { global_switch: true, limit_key_type: 'PATH', rules: [{ resource: '/spec.proto.runtime.v1.Runtime/SayHello', grade: 1, threshold: 5 }] } }],
              },
            ],
          },
        ],
      }),
    });
    client = new Client(String(sc.layottoPort), '127.0.0.1');
  });
  afterAll(async () => {
    client?.close?.();
    await sc?.stop();
  });

  it('lets 5 SayHello calls a second through; the rest fail Unknown "current request is limited"', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => client.hello.sayHello({ name: 'x' }).then((v) => v, (e: { code: number; details: string }) => e)));
    expect(results.filter((r) => r === 'greeting, x')).toHaveLength(5);
    const refused = results.filter((r) => typeof r !== 'string') as { code: number; details: string }[];
    expect(refused.map((e) => [e.code, e.details])).toEqual(Array(3).fill([UNKNOWN, 'current request is limited']));
    await sleep(1100); // a new window
    expect(await client.hello.sayHello({ name: 'y' })).toBe('greeting, y');
  });
});

describe('middleware.grpc.flowcontrol through spec.grpcPipeline', () => {
  let sc: Sidecar;
  let client: InstanceType<typeof Client>;
  const rules = JSON.stringify([
    { resource: '/spec.proto.runtime.v1.Runtime/GetState', grade: 1, threshold: 3 },
    { resource: '/spec.proto.runtime.v1.Runtime/SubscribeConfiguration', grade: 60, threshold: 2 },
  ]);
  beforeAll(async () => {
    const config = configFile(`  grpcPipeline:\n    handlers:\n    - name: flow\n      type: middleware.grpc.flowcontrol\n`);
    sc = await startSidecar({
      resources: { 'state.yaml': STATE, 'conf.yaml': componentYaml('conf', 'configuration.in-memory'), 'flow.yaml': componentYaml('flow', 'middleware.grpc.flowcontrol', { rules, actionBody: 'too many calls' }) },
      args: ['--config', config],
    });
    client = new Client(String(sc.layottoPort), '127.0.0.1');
  });
  afterAll(async () => {
    client?.close?.();
    await sc?.stop();
  });

  it('limits a unary rpc with the configured body', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => client.state.get({ storeName: 'mem', key: 'k' }).then(() => 'ok', (e: { code: number; details: string }) => `${e.code}:${e.details}`)));
    expect(results.sort()).toEqual([...Array(3).fill(`${UNKNOWN}:too many calls`), 'ok', 'ok', 'ok'].sort());
  });

  it('refuses a new stream once over the limit, leaving the admitted ones open', async () => {
    const closed: (unknown | undefined)[] = [undefined, undefined, undefined];
    const isClosed = [false, false, false];
    const calls = [0, 1, 2].map((i) =>
      client.configuration.subscribe({
        storeName: 'conf',
        appId: 'app',
        keys: ['k'],
        onData: () => undefined,
        onClose: (err) => {
          isClosed[i] = true;
          closed[i] = err;
        },
      }),
    );
    const start = Date.now();
    while (isClosed.filter(Boolean).length === 0 && Date.now() - start < 5000) await sleep(20);
    await sleep(200);
    expect(isClosed.filter(Boolean)).toHaveLength(1);
    const refused = closed.find((c) => c) as { code: number; details: string };
    expect([refused.code, refused.details]).toEqual([UNKNOWN, 'too many calls']);
    for (const c of calls) c.end();
  });

  it('leaves the Dapr HTTP API alone', async () => {
    for (let i = 0; i < 5; i++) expect((await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/state/mem/k`)).status).toBe(204);
  });
});

describe('bad rate-limit settings stop startup with a clear error', () => {
  async function failedStart(resources: Record<string, string>, config: string): Promise<{ code: number | null; out: string }> {
    const sc = await startSidecar({ resources: { 'state.yaml': STATE, ...resources }, args: ['--config', config], wait: false });
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([sc.exited, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 15000)))]);
    clearTimeout(timer);
    if (code === 'timeout') {
      await sc.stop('SIGKILL');
      throw new Error(`sidecar kept running:\n${sc.output()}`);
    }
    return { code, out: sc.output() };
  }

  it('a negative maxRequestsPerSecond', async () => {
    const { code, out } = await failedStart({ 'ratelimit.yaml': componentYaml('ratelimit', 'middleware.http.ratelimit', { maxRequestsPerSecond: '-5' }) }, httpPipeline());
    expect(code).toBe(1);
    expect(out).toMatch(/ratelimit\.yaml:\d+: spec\.metadata\.maxRequestsPerSecond: component ratelimit \(middleware\.http\.ratelimit\) failed to initialize: metadata field \\*"maxRequestsPerSecond\\*": must be a positive value/);
  });

  it('an httpPipeline handler naming no middleware component', async () => {
    const { code, out } = await failedStart({}, httpPipeline('nope'));
    expect(code).toBe(1);
    expect(out).toMatch(/config\.yaml:\d+: spec\.httpPipeline\.handlers: couldn't find middleware component with name nope and type middleware\.http\.ratelimit\/v1/);
  });

  it('a flow-control rule with a negative threshold', async () => {
    const config = configFile(`  grpcPipeline:\n    handlers:\n    - name: flow\n      type: middleware.grpc.flowcontrol\n`);
    const { code, out } = await failedStart({ 'flow.yaml': componentYaml('flow', 'middleware.grpc.flowcontrol', { rules: '[{"resource": "/x", "threshold": -1}]' }) }, config);
    expect(code).toBe(1);
    expect(out).toMatch(/spec\.metadata\.rules: component flow \(middleware\.grpc\.flowcontrol\) failed to initialize: metadata field \\*"rules\\*": 0\.threshold: must not be negative/);
  });
});
