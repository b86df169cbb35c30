// The xDS client in-process: a control plane in the test (test/xds-server.ts) pushes listeners,
// routes, clusters and endpoints to a proxy (withXds over startMeshProxy) in front of real loopback
// upstreams; ACKs carry the versions, a broken resource is NACKed with its reason while the last
// config serves, and a control plane that goes away leaves the config serving while the client
// reconnects and resumes from its last versions. The sidecar's suite is compat-tests/mesh/xds.test.ts.
import { createServer, type Server } from 'node:http';
import { createServer as createNet } from 'node:net';
import pino from 'pino';
import { http1 } from '../../../test/http-clients';
import { AdsServer, envoy, TYPE } from '../../../test/xds-server';
import { until } from '../../../test/wait';
import { createCluster } from '../proxy/cluster';
import { FilterRegistry } from '../registry';
import { type MeshProxyManifest, meshProxySchema, startMeshProxy } from '../proxy';
import { withXds, type XdsProxy } from './index';

const log = pino({ level: 'silent' });
const noPolicies = { timeouts: new Map(), retries: new Map(), circuitBreakers: new Map() };

const closers: (() => unknown)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function upstream(name: string): Promise<number> {
  const s: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(name));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => { s.closeAllConnections(); s.close(r); }));
  return (s.address() as { port: number }).port;
}

async function freePort(): Promise<number> {
  const s = createNet();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function setup(files: MeshProxyManifest[] = []): Promise<{ ads: AdsServer; x: XdsProxy }> {
  const ads = new AdsServer();
  await ads.start();
  closers.push(() => ads.stop());
  const proxy = await startMeshProxy(files, { createCluster, policies: noPolicies, log, filters: { registry: new FilterRegistry(), context: { appId: 'me', log } } });
  const x = withXds(proxy, files, { server: `127.0.0.1:${ads.port}`, node: { id: 'node-1', cluster: 'c1', metadata: { zone: 'z' } }, log, backoff: { initialMs: 100, maxMs: 400 } });
  closers.push(() => x.proxy.stop(0));
  return { ads, x };
}

/** Cluster "ca" (version c1) with the one endpoint `port` (version e1). */
function oneCluster(ads: AdsServer, port: number): void {
  ads.set(TYPE.cluster, 'c1', [envoy.edsCluster('ca')]);
  ads.set(TYPE.endpoint, 'e1', [envoy.cla('ca', [{ port }])]);
}

const text = async (port: number, path = '/') => {
  const r = await http1(port, path);
  return `${r.status} ${r.text}`;
};

describe('xDS (in-process)', () => {
  it('serves what the control plane pushes, ACKs each version, and follows new weights and endpoints', async () => {
    const a = await upstream('a');
    const b = await upstream('b');
    const port = await freePort();
    const { ads, x } = await setup();
    ads.set(TYPE.cluster, 'c1', [envoy.edsCluster('ca'), envoy.edsCluster('cb')]);
    ads.set(TYPE.endpoint, 'e1', [envoy.cla('ca', [{ port: a }]), envoy.cla('cb', [{ port: b }])]);
    ads.set(TYPE.listener, 'l1', [envoy.listener('edge', port, { rds: 'r' })]);
    ads.set(TYPE.route, 'r1', [envoy.routes('r', [envoy.route('/b', { cluster: 'cb' }), envoy.route('/', envoy.weighted({ ca: 100, cb: 0 }))])]);
    await until(() => x.status().types.rds.version === 'r1' && x.status().types.eds.version === 'e1', () => JSON.stringify(x.status()));
    expect(await text(port)).toBe('200 a');
    expect(await text(port, '/b/x')).toBe('200 b');
    const node = ads.requests.find((r) => r.node)!.node!;
    expect(node).toMatchObject({ id: 'node-1', cluster: 'c1', metadata: { fields: { zone: { stringValue: 'z' } } } });
    expect(ads.of(TYPE.endpoint).at(-1)).toMatchObject({ version_info: 'e1', resource_names: ['ca', 'cb'] });

    ads.set(TYPE.route, 'r2', [envoy.routes('r', [envoy.route('/', envoy.weighted({ ca: 0, cb: 100 }))])]);
    await until(() => x.status().types.rds.version === 'r2', () => JSON.stringify(x.status().types));
    expect(await text(port)).toBe('200 b');
    ads.set(TYPE.endpoint, 'e2', [envoy.cla('ca', [{ port: a }]), envoy.cla('cb', [{ port: b, health: 'DRAINING' }])]);
    await until(() => x.status().types.eds.version === 'e2', () => JSON.stringify(x.status().types));
    expect(await text(port)).toBe('503 no healthy upstream');
    expect(x.status()).toMatchObject({ state: 'connected', warming: [], types: { lds: { version: 'l1', nacks: 0 }, cds: { version: 'c1' } } });

    // A listener the control plane no longer sends is closed; one it adds is bound.
    const other = await freePort();
    ads.set(TYPE.listener, 'l2', [envoy.listener('second', other, { routeConfig: envoy.routes('inline', [envoy.route('/', { cluster: 'ca' })]) })]);
    await until(() => x.status().types.lds.version === 'l2', () => JSON.stringify(x.status().types));
    expect(await text(other)).toBe('200 a');
    await expect(http1(port, '/')).rejects.toThrow(/ECONNREFUSED/);
    expect(Object.keys(x.proxy.ports)).toEqual(['second']);
  });

  it('NACKs a resource it cannot apply with the reason, keeps the last config serving, and takes the next good one', async () => {
    const a = await upstream('a');
    const port = await freePort();
    const { ads, x } = await setup();
    oneCluster(ads, a);
    ads.set(TYPE.listener, 'l1', [envoy.listener('edge', port, { routeConfig: envoy.routes('inline', [envoy.route('/', { cluster: 'ca' })]) })]);
    await until(() => x.status().types.lds.version === 'l1', () => JSON.stringify(x.status()));
    ads.set(TYPE.cluster, 'c2', [envoy.edsCluster('ca', { lb_policy: 'MAGLEV' })]);
    await until(() => x.status().lastNack !== undefined, () => JSON.stringify(x.status()));
    expect(x.status().lastNack).toMatchObject({ type: 'cds', version: 'c2', message: expect.stringMatching(/cluster ca: lb_policy MAGLEV is not supported/) });
    expect(ads.of(TYPE.cluster).at(-1)).toMatchObject({ version_info: 'c1', error_detail: { code: 3, message: expect.stringMatching(/MAGLEV/) } });
    expect(x.status().types.cds.version).toBe('c1');
    expect(await text(port)).toBe('200 a');
    ads.set(TYPE.listener, 'l2', [envoy.listener('edge', port, { routeConfig: envoy.routes('inline', [envoy.route('/', { cluster: 'ca' })]), httpFilters: [{ name: 'envoy.filters.http.cors', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }] })]);
    await until(() => x.status().types.lds.nacks === 1, () => JSON.stringify(x.status()));
    expect(x.status().lastNack!.message).toMatch(/filters after the router|not supported/);
    ads.set(TYPE.cluster, 'c3', [envoy.edsCluster('ca', { lb_policy: 'RANDOM' })]);
    await until(() => x.status().types.cds.version === 'c3', () => JSON.stringify(x.status()));
    expect(x.proxy.snapshot().clusters[0]).toMatchObject({ name: 'ca', lbPolicy: 'random', endpoints: [{ address: `127.0.0.1:${a}` }] });
    expect(await text(port)).toBe('200 a');
  });

  it('keeps serving when the control plane goes away, reconnects with backoff and resumes from its last versions', async () => {
    const a = await upstream('a');
    const b = await upstream('b');
    const port = await freePort();
    const { ads, x } = await setup();
    oneCluster(ads, a);
    ads.set(TYPE.listener, 'l1', [envoy.listener('edge', port, { routeConfig: envoy.routes('inline', [envoy.route('/', { cluster: 'ca' })]) })]);
    await until(() => x.status().types.eds.version === 'e1', () => JSON.stringify(x.status()));
    await ads.stop();
    await until(() => x.status().state !== 'connected', () => x.status().state);
    for (let i = 0; i < 3; i++) expect(await text(port)).toBe('200 a');
    await new Promise((r) => setTimeout(r, 500));
    expect(x.status().streams).toBeGreaterThan(2); // retried while away
    const before = ads.requests.length;
    ads.set(TYPE.endpoint, 'e2', [envoy.cla('ca', [{ port: b }])]);
    await ads.start();
    await until(() => x.status().types.eds.version === 'e2', () => JSON.stringify(x.status()));
    const resumed = ads.requests.slice(before);
    expect(resumed.find((r) => r.type_url === TYPE.cluster && r.response_nonce === '')).toMatchObject({ version_info: 'c1' });
    expect(resumed.find((r) => r.type_url === TYPE.endpoint && r.response_nonce === '')).toMatchObject({ version_info: 'e1', resource_names: ['ca'] });
    expect(await text(port)).toBe('200 b');
    expect(x.status().state).toBe('connected');
  });

  it('runs beside file-declared MeshProxy resources: a file update keeps the xDS resources, a name clash is NACKed', async () => {
    const a = await upstream('a');
    const f = await upstream('f');
    const [port, filePort] = [await freePort(), await freePort()];
    const file = (listen: number, name = 'from-file') => meshProxySchema.parse({ apiVersion: 'layotto.io/v1', kind: 'MeshProxy', metadata: { name: 'files' }, spec: { listeners: [{ name, address: listen, cluster: 'file-c' }], clusters: [{ name: 'file-c', endpoints: [`127.0.0.1:${f}`] }] } });
    const { ads, x } = await setup([file(filePort)]);
    oneCluster(ads, a);
    ads.set(TYPE.listener, 'l1', [envoy.listener('edge', port, { routeConfig: envoy.routes('inline', [envoy.route('/', { cluster: 'ca' })]) })]);
    await until(() => x.status().types.eds.version === 'e1', () => JSON.stringify(x.status()));
    expect([await text(port), await text(filePort)]).toEqual(['200 a', '200 f']);
    const moved = await freePort();
    await x.proxy.update([file(moved, 'from-file-2')]);
    expect([await text(port), await text(moved)]).toEqual(['200 a', '200 f']);
    ads.set(TYPE.cluster, 'c2', [envoy.edsCluster('ca'), envoy.edsCluster('file-c')]);
    await until(() => x.status().types.cds.nacks === 1, () => JSON.stringify(x.status()));
    expect(x.status().lastNack!.message).toMatch(/cluster name "file-c" is already used by MeshProxy files/);
  });

  it('maps a tcp_proxy listener: bytes to the cluster\'s endpoints', async () => {
    const a = await upstream('a');
    const port = await freePort();
    const { ads, x } = await setup();
    oneCluster(ads, a);
    const tcp = { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 'db', cluster: 'ca' };
    ads.set(TYPE.listener, 'l1', [{ name: 'db', address: { socket_address: { address: '127.0.0.1', port_value: port } }, filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: tcp }] }] }]);
    await until(() => x.status().types.eds.version === 'e1' && x.status().types.lds.version === 'l1', () => JSON.stringify(x.status()));
    expect(await text(port)).toBe('200 a');
    expect(x.proxy.snapshot().listeners[0]).toMatchObject({ name: 'db', protocol: 'tcp', cluster: 'ca', stats: { connections: 1 } });
  });
});
