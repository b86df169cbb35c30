// Hot reload of what is not a component, against the built binary: declarative subscriptions
// (deliveries start and stop), Resiliency policies, the Configuration (secret scopes and access
// control apply, a tracing change is logged as needing a restart), MeshProxy routes (MeshProxy.update; a broken
// one keeps the running routes), Layotto's config.json components, and the opt-outs
// (--hot-reload=false, the HotReload feature disabled in the Configuration).
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep, until } from '../../test/wait';
import { PlainApp } from '../helpers/invoke';
import { componentYaml, freePort, type Sidecar, startSidecar } from '../helpers/sidecar';

/** Writes a file the way editors save: a temporary file renamed over the old one. */
function saveFile(path: string, content: string): void {
  writeFileSync(`${path}.tmp`, content);
  renameSync(`${path}.tmp`, path);
}
const logged = (sc: Sidecar, from: number, text: string, ms = 15000) => until(() => sc.output().slice(from).includes(text), () => `log line "${text}"; log since the edit:\n${sc.output().slice(from)}`, ms);
const http = (sc: Sidecar, path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${sc.httpPort}${path}`, init);
const post = (sc: Sidecar, path: string, body: unknown) => http(sc, path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const subscriptionYaml = (topic: string, route: string) => `apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: orders
spec:
  pubsubname: ps
  topic: ${topic}
  routes:
    default: ${route}
`;

const configYaml = (extra: string) => `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: cfg
spec:
${extra}`;

const proxyYaml = (listen: number, cluster: string, a: PlainApp, b: PlainApp) => `apiVersion: layotto.io/v1
kind: MeshProxy
metadata:
  name: edge
spec:
  listeners:
    - name: edge
      address: 127.0.0.1:${listen}
      routes:
        - name: all
          match: { pathPrefix: / }
          cluster: ${cluster}
  clusters:
    - name: a
      endpoints: ["127.0.0.1:${a.port}"]
    - name: b
      endpoints: ["127.0.0.1:${b.port}"]
`;

describe('one sidecar, its resources edited', () => {
  let sc: Sidecar;
  const app = new PlainApp();
  const slow = new PlainApp();
  const a = new PlainApp();
  const b = new PlainApp();
  let cfgFile: string;
  let proxyPort: number;
  const res = (name: string) => join(sc.resourcesDir!, name);

  beforeAll(async () => {
    await Promise.all([app.start(), slow.start(), a.start(), b.start()]);
    slow.script = (_s, r) => void sleep(1500).then(() => r.writeHead(200).end('slow'));
    a.script = (_s, r) => r.writeHead(200).end('from a');
    b.script = (_s, r) => r.writeHead(200).end('from b');
    cfgFile = join(mkdtempSync(join(tmpdir(), 'hot-reload-cfg-')), 'config.yaml');
    writeFileSync(cfgFile, configYaml('  secrets:\n    scopes: []\n'));
    proxyPort = await freePort();
    sc = await startSidecar({
      appId: 'hot-reload-res',
      env: { HOT_RELOAD_SECRET: 's3cret' },
      resources: {
        'ps.yaml': componentYaml('ps', 'pubsub.in-memory'),
        'env.yaml': componentYaml('env', 'secretstores.local.env'),
        'slow.yaml': componentYaml('slow', 'bindings.http', { url: slow.url }),
        'proxy.yaml': proxyYaml(proxyPort, 'a', a, b),
      },
      args: ['--app-port', String(app.port), '--config', cfgFile],
    });
  });

  afterAll(async () => {
    await sc?.stop();
    await Promise.all([app.stop(), slow.stop(), a.stop(), b.stop()]);
  });

  it('a Subscription added starts deliveries; removed, they stop', async () => {
    const topic = `orders-${Date.now().toString(36)}`;
    const delivered = (path: string) => app.seen.filter((s) => s.url === path).length;
    expect((await post(sc, `/v1.0/publish/ps/${topic}`, { n: 0 })).status).toBe(204);
    let from = sc.output().length;
    saveFile(res('sub.yaml'), subscriptionYaml(topic, '/orders'));
    await logged(sc, from, `subscribed to topic ${topic} on pubsub ps (declarative)`);
    expect((await post(sc, `/v1.0/publish/ps/${topic}`, { n: 1 })).status).toBe(204);
    await until(() => delivered('/orders') === 1, () => `one delivery to /orders, got ${delivered('/orders')}`);
    // The route changes: the subscription restarts with it.
    from = sc.output().length;
    saveFile(res('sub.yaml'), subscriptionYaml(topic, '/orders-v2'));
    await logged(sc, from, `subscribed to topic ${topic} on pubsub ps (declarative)`);
    expect((await post(sc, `/v1.0/publish/ps/${topic}`, { n: 2 })).status).toBe(204);
    await until(() => delivered('/orders-v2') === 1, () => 'one delivery to /orders-v2');
    from = sc.output().length;
    rmSync(res('sub.yaml'));
    await logged(sc, from, `stopped subscription to topic ${topic} on pubsub ps (declarative)`);
    expect((await post(sc, `/v1.0/publish/ps/${topic}`, { n: 3 })).status).toBe(204);
    await sleep(1000);
    expect(delivered('/orders') + delivered('/orders-v2')).toBe(2);
  });

  it('a Resiliency added applies its timeout to the next calls; removed, the calls wait again', async () => {
    const call = () => post(sc, '/v1.0/bindings/slow', { operation: 'get' });
    let from = sc.output().length;
    saveFile(res('resiliency.yaml'), `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: fast-fail
spec:
  policies:
    timeouts:
      short: 300ms
  targets:
    components:
      slow:
        outbound:
          timeout: short
`);
    await logged(sc, from, 'Resiliency policies updated');
    const r = await call();
    expect(r.status).toBe(500);
    expect(await r.json()).toEqual({ errorCode: 'ERR_INVOKE_OUTPUT_BINDING', message: 'error invoking output binding slow: context deadline exceeded (timeout 300ms)' });
    from = sc.output().length;
    rmSync(res('resiliency.yaml'));
    await logged(sc, from, 'Resiliency policies updated (0 resources)');
    expect((await call()).status).toBe(200);
  });

  it('a Configuration edit: secret scopes apply at once; a tracing change is logged as needing a restart', async () => {
    expect((await http(sc, '/v1.0/secrets/env/HOT_RELOAD_SECRET')).status).toBe(200);
    const from = sc.output().length;
    saveFile(cfgFile, configYaml('  secrets:\n    scopes:\n      - storeName: env\n        defaultAccess: deny\n  tracing:\n    samplingRate: "1"\n'));
    await logged(sc, from, 'Configuration: secret scopes updated');
    const denied = await http(sc, '/v1.0/secrets/env/HOT_RELOAD_SECRET');
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { errorCode: string }).errorCode).toBe('ERR_PERMISSION_DENIED');
    expect(sc.output().slice(from)).toContain('Configuration spec.tracing changed: it is read at startup only; the change needs a restart');
  });

  it('Configuration accessControl added: calls from another sidecar are refused from then on', async () => {
    const caller = await startSidecar({ appId: 'hot-reload-caller' });
    try {
      const invoke = () => fetch(`http://127.0.0.1:${caller.httpPort}/v1.0/invoke/hot-reload-res/method/acl`, { method: 'POST', body: 'x' });
      await until(async () => (await invoke()).status === 200, () => 'the caller to reach the app');
      const from = sc.output().length;
      saveFile(cfgFile, configYaml('  accessControl:\n    defaultAction: deny\n    trustDomain: public\n'));
      await logged(sc, from, 'Configuration: access control updated (default action deny, 0 app policies)');
      const denied = await invoke();
      expect(denied.status).toBe(403);
      expect(await denied.text()).toContain('access control policy has denied access to id: spiffe://public/ns/default/hot-reload-caller operation: acl verb: POST');
    } finally {
      await caller.stop();
    }
  });

  it('a MeshProxy route change applies in place; a broken one keeps the running routes', async () => {
    const viaProxy = async () => (await fetch(`http://127.0.0.1:${proxyPort}/x`)).text();
    expect(await viaProxy()).toBe('from a');
    let from = sc.output().length;
    saveFile(res('proxy.yaml'), proxyYaml(proxyPort, 'b', a, b));
    await logged(sc, from, 'mesh proxy updated');
    expect(await viaProxy()).toBe('from b');
    from = sc.output().length;
    saveFile(res('proxy.yaml'), proxyYaml(proxyPort, 'nosuch', a, b));
    await logged(sc, from, 'hot reload: MeshProxy not applied, the running routes stay');
    expect(sc.output().slice(from)).toMatch(/proxy\.yaml:\d+: /);
    expect(await viaProxy()).toBe('from b');
  });
});

describe("Layotto's config.json", () => {
  const layottoConfig = (port: number, state: Record<string, unknown>) => ({
    servers: [{ listeners: [{ name: 'grpc', address: `127.0.0.1:${port}`, filter_chains: [{ filters: [{ type: 'grpc', config: { server_name: 'runtime', grpc_config: { state, app: { app_id: 'hot-layotto' } } } }] }] }] }],
  });
  let sc: Sidecar;
  let port = 0;
  afterAll(async () => void (await sc?.stop()));

  it('a component added to config.json starts, one removed closes', async () => {
    sc = await startSidecar({ layottoConfig: (p) => ((port = p), layottoConfig(p, { first: { type: 'in-memory' } })) });
    const file = sc.proc.spawnargs[sc.proc.spawnargs.indexOf('-c') + 1]!;
    expect((await post(sc, '/v1.0/state/first', [{ key: 'k', value: 1 }])).status).toBe(204);
    const from = sc.output().length;
    saveFile(file, JSON.stringify(layottoConfig(port, { second: { type: 'in-memory' } }), null, 2));
    await logged(sc, from, 'component removed: first');
    expect((await post(sc, '/v1.0/state/second', [{ key: 'k', value: 1 }])).status).toBe(204);
    expect((await http(sc, '/v1.0/state/first/k')).status).toBe(400);
    // Broken JSON: the components stay.
    const broken = sc.output().length;
    saveFile(file, '{ "servers": [');
    await logged(sc, broken, `the components of ${file} stay as they were`);
    expect((await http(sc, '/v1.0/state/second/k')).status).toBe(200);
  });
});

describe('turned off', () => {
  const sidecars: Sidecar[] = [];
  afterAll(async () => void (await Promise.all(sidecars.map((s) => s.stop()))));

  const notReloaded = async (sc: Sidecar) => {
    writeFileSync(join(sc.resourcesDir!, 'late.yaml'), componentYaml('late', 'state.in-memory'));
    await sleep(1500);
    expect((await http(sc, '/v1.0/state/late/k')).status).toBe(400);
  };

  it('--hot-reload=false: edits wait for a restart', async () => {
    const sc = await startSidecar({ resources: { 'a.yaml': componentYaml('a', 'state.in-memory') }, args: ['--hot-reload=false'] });
    sidecars.push(sc);
    expect(sc.output()).toContain('hot reload is off (--hot-reload=false)');
    await notReloaded(sc);
  });

  it('the HotReload feature disabled in the Configuration (daprd\'s gate)', async () => {
    const cfg = join(mkdtempSync(join(tmpdir(), 'hot-reload-gate-')), 'config.yaml');
    writeFileSync(cfg, configYaml('  features:\n    - name: HotReload\n      enabled: false\n'));
    const sc = await startSidecar({ resources: { 'a.yaml': componentYaml('a', 'state.in-memory') }, args: ['--config', cfg] });
    sidecars.push(sc);
    expect(sc.output()).toContain('hot reload is off (the HotReload feature is disabled in the Configuration)');
    await notReloaded(sc);
  });
});
