// The mesh proxy's http listener in the built sidecar, against real upstreams on loopback: the
// routing table (host, path, regex, headers, gRPC service/method, methods), HTTP/1.1 and h2c
// clients on one port, gRPC through a real @grpc/grpc-js server, 5 MB streamed each way,
// keep-alive reuse, local replies, and the proxy in /v1.0/metadata, GetMetadata and the actuator.
import * as grpc from '@grpc/grpc-js';
import { daprClientConstructor } from '../../src/api/dapr-grpc/protos';
import { collect, echoClient, type EchoApp, metadata, startEchoApp, unary } from '../../test/grpc-echo';
import { freePort, type Sidecar, startSidecar } from '../helpers/sidecar';
import { bigBody, closeServer, type Echo, echoServer, h2c, h2EchoServer, http1, sha256 } from './upstreams';

let sc: Sidecar;
let port: number;
let actuatorPort: number;
let a: Echo;
let b: Echo;
let h2: Awaited<ReturnType<typeof h2EchoServer>>;
let greeter: EchoApp;
let other: EchoApp;

const proxyYaml = (listen: number) => `apiVersion: layotto.io/v1
kind: MeshProxy
metadata:
  name: edge
spec:
  listeners:
    - name: edge
      address: 127.0.0.1:${listen}
      routes:
        - name: grpc-unary
          match: { grpc: { service: proxytest.v1.Echo, method: Unary } }
          cluster: greeter
        - name: grpc-rest
          match: { grpc: { service: proxytest.v1.Echo } }
          cluster: other
        - name: exact-host
          match: { host: a.local }
          cluster: a
        - name: wildcard-host
          match: { host: "*.b.local" }
          cluster: b
        - name: header-exact
          match: { headers: [{ name: x-canary, exact: "yes" }] }
          cluster: b
        - name: header-regex
          match: { headers: [{ name: x-user, regex: "vip-[0-9]+" }] }
          cluster: b
        - name: header-present
          match: { headers: [{ name: x-debug, present: true }], methods: [DELETE] }
          cluster: b
        - name: regex-path
          match: { pathRegex: "/items/[0-9]+" }
          cluster: b
        - name: h2-upstream
          match: { pathPrefix: /h2/ }
          cluster: h2
        - name: methods
          match: { pathPrefix: /write/, methods: [PUT, POST] }
          cluster: a
        - name: prefix
          match: { pathPrefix: /api/ }
          cluster: a
          prefixRewrite: /v1/
          requestHeaders: { x-route: prefix }
  clusters:
    - name: a
      endpoints: ["127.0.0.1:${a.port}"]
    - name: b
      endpoints: ["127.0.0.1:${b.port}"]
      protocol: http1
    - name: h2
      endpoints: ["127.0.0.1:${h2.port}"]
      protocol: h2c
    - name: greeter
      endpoints: ["127.0.0.1:${greeter.port}"]
    - name: other
      endpoints: ["127.0.0.1:${other.port}"]
`;

beforeAll(async () => {
  [a, b, h2, greeter, other, port, actuatorPort] = await Promise.all([echoServer('a'), echoServer('b'), h2EchoServer('h2'), startEchoApp('greeter'), startEchoApp('other'), freePort(), freePort()]);
  sc = await startSidecar({ appId: 'mesh-http', resources: { 'proxy.yaml': proxyYaml(port) }, args: ['--actuator-port', String(actuatorPort)] });
});

afterAll(async () => {
  await sc?.stop();
  await Promise.all([a && closeServer(a), b && closeServer(b), h2 && closeServer(h2), greeter?.close(), other?.close()]);
});

const name = (r: { text: string }) => (JSON.parse(r.text) as { name: string }).name;

describe('routing table (HTTP/1.1)', () => {
  it.each([
    ['exact host, port ignored', '/', 'GET', { host: 'a.local:8080' }, 'a'],
    ['"*.suffix" host', '/', 'GET', { host: 'x.b.local' }, 'b'],
    ['header exact', '/', 'GET', { host: 'z', 'x-canary': 'yes' }, 'b'],
    ['header regex', '/', 'GET', { host: 'z', 'x-user': 'vip-42' }, 'b'],
    ['header present + method', '/', 'DELETE', { host: 'z', 'x-debug': '' }, 'b'],
    ['whole-path regex', '/items/17', 'GET', { host: 'z' }, 'b'],
    ['method', '/write/x', 'PUT', { host: 'z' }, 'a'],
    ['prefix', '/api/x', 'GET', { host: 'z' }, 'a'],
  ])('%s', async (_case, path, method, headers, want) => {
    const r = await http1(port, path, { method, headers });
    expect(r.status).toBe(200);
    expect(name(r)).toBe(want);
  });

  it.each([
    ['header regex must match the whole value', { host: 'z', 'x-user': 'vip-42x' }, '/', 'GET'],
    ['header present without its method', { host: 'z', 'x-debug': '' }, '/', 'GET'],
    ['regex must match the whole path', { host: 'z' }, '/items/17/more', 'GET'],
    ['method not listed', { host: 'z' }, '/write/x', 'GET'],
  ])('no route: %s → 404 "no route"', async (_case, headers, path, method) => {
    const r = await http1(port, path, { method, headers });
    expect([r.status, r.text]).toEqual([404, 'no route']);
  });

  it('rewrites the prefix, adds the route headers and Envoy forwarding headers', async () => {
    const r = await http1(port, '/api/items?q=1', { headers: { host: 'svc', connection: 'keep-alive, x-hop', 'x-hop': 'drop me' } });
    const seen = JSON.parse(r.text) as { url: string; headers: Record<string, string> };
    expect(seen.url).toBe('/v1/items?q=1');
    expect(seen.headers).toMatchObject({ host: 'svc', 'x-route': 'prefix', 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'http' });
    expect(seen.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.headers['x-hop']).toBeUndefined();
    expect(r.headers['x-upstream']).toBe('a');
  });

  it('reuses upstream connections (keep-alive)', async () => {
    const before = a.connections;
    for (let i = 0; i < 40; i++) expect((await http1(port, '/', { headers: { host: 'a.local' } })).status).toBe(200);
    expect(a.connections - before).toBeLessThanOrEqual(1);
  });
});

describe('h2c (prior knowledge) on the same port', () => {
  it('routes by :authority; h2c to an h2c cluster, HTTP/1.1 to an http1 cluster', async () => {
    const r = await h2c(port, { ':path': '/', ':authority': 'x.b.local' });
    expect([r.status, name(r)]).toEqual([200, 'b']); // cluster b speaks HTTP/1.1 whatever the client spoke
    const r2 = await h2c(port, { ':path': '/h2/x', ':authority': 'svc' });
    expect(JSON.parse(r2.text)).toEqual({ name: 'h2', path: '/h2/x', authority: 'svc', bytes: 0 });
  });

  it('no route → 404', async () => {
    expect((await h2c(port, { ':path': '/nothing', ':authority': 'z' })).status).toBe(404);
  });
});

describe('5 MB streamed each way', () => {
  const big = bigBody(5 * 1024 * 1024);
  it('HTTP/1.1 client to an HTTP/1.1 upstream', async () => {
    const r = await http1(port, '/stream', { method: 'POST', headers: { host: 'x.b.local' }, body: big.stream() });
    expect([r.status, r.body.length, sha256(r.body)]).toEqual([200, 5 * 1024 * 1024, big.hash]);
  });
  it('h2c client to an h2c upstream', async () => {
    const r = await h2c(port, { ':path': '/h2/stream', ':authority': 'svc' }, big.stream());
    expect([r.status, r.body.length, sha256(r.body)]).toEqual([200, 5 * 1024 * 1024, big.hash]);
  });
});

describe('gRPC through the proxy (a real grpc-js server)', () => {
  it('routes by service and method; trailers and headers come through', async () => {
    const client = echoClient(port);
    const r = await unary(client, { text: 'hi' }, metadata([['x-in', '1']]));
    expect(r.err).toBeNull();
    expect(r.res!.text).toBe('greeter:hi');
    expect(r.headers!.get('x-app')).toEqual(['greeter']);
    expect(r.trailers!.get('x-trailer')).toEqual(['t1, t2']);
    const s = await collect(client.ServerStream({ text: 's', count: 3 }, new grpc.Metadata()));
    expect(s.status.code).toBe(grpc.status.OK);
    expect(s.messages.map((m) => m.text)).toEqual(['s-0', 's-1', 's-2']);
    expect(s.headers!.get('x-app')).toEqual(['other']);
    const failed = await unary(client, { text: 'x', code: grpc.status.NOT_FOUND }, new grpc.Metadata());
    expect(failed.err!.code).toBe(grpc.status.NOT_FOUND);
    client.close();
  });

  it('a service no route takes answers UNIMPLEMENTED', async () => {
    const Dapr = daprClientConstructor();
    const dapr = new Dapr(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as { GetMetadata(req: object, cb: (e: grpc.ServiceError | null) => void): void; close(): void };
    const err = await new Promise<grpc.ServiceError | null>((r) => dapr.GetMetadata({}, (e) => r(e)));
    expect(err!.code).toBe(grpc.status.UNIMPLEMENTED);
    dapr.close();
  });
});

describe('the proxy in metadata and on the actuator', () => {
  it('GET /v1.0/metadata has meshProxy with listeners, routes and clusters', async () => {
    const md = (await (await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/metadata`)).json()) as { meshProxy: { listeners: { name: string; address: string; protocol: string; routes: { name: string; cluster: string; match: unknown }[] }[]; clusters: { name: string; endpoints: { address: string }[]; stats: { requests: number } }[] } };
    const l = md.meshProxy.listeners[0]!;
    expect([l.name, l.address, l.protocol]).toEqual(['edge', `127.0.0.1:${port}`, 'http']);
    expect(l.routes.find((r) => r.name === 'wildcard-host')).toEqual({ name: 'wildcard-host', cluster: 'b', match: { host: ['*.b.local'] } });
    expect(md.meshProxy.clusters.map((c) => c.name)).toEqual(['a', 'b', 'h2', 'greeter', 'other']);
    expect(md.meshProxy.clusters[0]!.endpoints[0]!.address).toBe(`127.0.0.1:${a.port}`);
    expect(md.meshProxy.clusters[0]!.stats.requests).toBeGreaterThan(0);
  });

  it('Dapr gRPC GetMetadata carries the same as JSON in extended_metadata.meshProxy', async () => {
    const Dapr = daprClientConstructor();
    const dapr = new Dapr(`127.0.0.1:${sc.grpcPort}`, grpc.credentials.createInsecure()) as unknown as { GetMetadata(req: object, cb: (e: grpc.ServiceError | null, r?: { extended_metadata: Record<string, string> }) => void): void; close(): void };
    const res = await new Promise<{ extended_metadata: Record<string, string> }>((resolve, reject) => dapr.GetMetadata({}, (e, r) => (e ? reject(e) : resolve(r!))));
    dapr.close();
    const mp = JSON.parse(res.extended_metadata.meshProxy!) as { listeners: { name: string }[]; clusters: unknown[] };
    expect(mp.listeners.map((l) => l.name)).toEqual(['edge']);
    expect(mp.clusters).toHaveLength(5);
  });

  it('GET /actuator/proxy answers the snapshot', async () => {
    const r = await fetch(`http://127.0.0.1:${actuatorPort}/actuator/proxy`);
    expect(r.status).toBe(200);
    const body = (await r.json()) as { listeners: { name: string; stats: { requests: number } }[]; clusters: { name: string }[] };
    expect(body.listeners[0]!.name).toBe('edge');
    expect(body.listeners[0]!.stats.requests).toBeGreaterThan(0);
    expect(body.clusters.map((c) => c.name)).toContain('greeter');
  });
});
