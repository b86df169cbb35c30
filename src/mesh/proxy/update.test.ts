// MeshProxy.update in-process against real loopback upstreams: routes swap for new requests,
// unchanged clusters keep their state, endpoint-only changes are made in place, replaced clusters
// drain (a slow request in flight finishes), a wrong update changes nothing, listeners are added,
// removed and rebound while an unchanged one keeps its socket and connections.
import { Agent, createServer as createHttp, request, type Server } from 'node:http';
import pino from 'pino';
import { http1 } from '../../../test/http-clients';
import { sleep, until } from '../../../test/wait';
import { FilterRegistry } from '../registry';
import { createCluster } from './cluster';
import { meshProxySchema, type MeshProxyManifest } from './config';
import { type MeshProxy, ProxyConfigError, startMeshProxy } from './index';

const log = pino({ level: 'silent' });
const noPolicies = { timeouts: new Map(), retries: new Map(), circuitBreakers: new Map() };

let filtersMade = 0;
let filtersClosed = 0;
const registry = new FilterRegistry();
registry.register('test.counter', () => {
  filtersMade++;
  return { name: 'counter', onRequest: () => undefined, close: async () => void filtersClosed++ };
});

const manifest = (spec: Record<string, unknown>, name = 'test'): MeshProxyManifest => meshProxySchema.parse({ apiVersion: 'layotto.io/v1', kind: 'MeshProxy', metadata: { name }, spec });

/** Answers its name; /slow waits `slowMs` first. */
function named(name: string, slowMs = 600): Server {
  return createHttp((req, res) => {
    const answer = () => res.writeHead(200, { 'content-type': 'text/plain' }).end(name);
    if (req.url === '/slow') setTimeout(answer, slowMs);
    else answer();
  });
}

const closers: (() => unknown)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function up(name: string): Promise<{ port: number; server: Server }> {
  const server = named(name);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => { server.closeAllConnections(); server.close(r); }));
  return { port: (server.address() as { port: number }).port, server };
}

async function proxy(spec: Record<string, unknown>): Promise<MeshProxy> {
  const p = await startMeshProxy([manifest(spec)], { createCluster, policies: noPolicies, log, filters: { registry, context: { appId: 'me', log } } });
  closers.push(() => p.stop(0));
  return p;
}

const text = async (port: number, path = '/', headers: Record<string, string> = {}) => (await http1(port, path, { headers })).text;

describe('MeshProxy.update', () => {
  it('swaps routes for new requests on the same socket and keeps an unchanged cluster as it was', async () => {
    const a = await up('a');
    const b = await up('b');
    const clusters = [{ name: 'a', endpoints: [`127.0.0.1:${a.port}`] }, { name: 'b', endpoints: [`127.0.0.1:${b.port}`] }];
    const p = await proxy({ listeners: [{ name: 'edge', address: 0, cluster: 'a' }], clusters });
    const port = p.ports.edge!;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    closers.push(() => agent.destroy());
    const viaAgent = () =>
      new Promise<string>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
          let s = '';
          res.on('data', (c: Buffer) => (s += c));
          res.on('end', () => resolve(s));
        }).on('error', reject).end();
      });
    expect(await viaAgent()).toBe('a');
    await p.update([manifest({ listeners: [{ name: 'edge', address: 0, routes: [{ match: { pathPrefix: '/b' }, cluster: 'b' }], cluster: 'a' }], clusters })]);
    expect(p.ports.edge).toBe(port);
    expect(await text(port, '/b/x')).toBe('b');
    expect(await viaAgent()).toBe('a');
    const snap = p.snapshot();
    // The keep-alive connection made before the update is the one still in use.
    expect(snap.listeners[0]!.stats).toMatchObject({ connections: 2, requests: 3 });
    expect(snap.listeners[0]!.routes.map((r) => r.cluster)).toEqual(['b', 'a']);
    expect(snap.clusters.find((c) => c.name === 'a')!.stats.requests).toBe(2);
  });

  it('updates endpoints in place, keeping the state of those that stay, and replaces a changed cluster after its requests finish', async () => {
    const a = await up('a');
    const b = await up('b');
    const ep = (port: number) => `127.0.0.1:${port}`;
    const p = await proxy({ listeners: [{ name: 'edge', address: 0, cluster: 'c' }], clusters: [{ name: 'c', endpoints: [ep(a.port), ep(b.port)] }] });
    const port = p.ports.edge!;
    for (let i = 0; i < 4; i++) await text(port);
    // Endpoint b removed while a request to it is in flight: the request finishes, new ones go to a only.
    const slow: Promise<string>[] = [text(port, '/slow'), text(port, '/slow')];
    await sleep(100);
    await p.update([manifest({ listeners: [{ name: 'edge', address: 0, cluster: 'c' }], clusters: [{ name: 'c', endpoints: [ep(a.port)] }] })]);
    expect((await Promise.all(slow)).sort()).toEqual(['a', 'b']);
    // The pool to the removed endpoint lets its connection go once the answer is in.
    const open = () => new Promise<number>((r) => b.server.getConnections((_e, n) => r(n)));
    await until(async () => (await open()) === 0, () => "connections still open to the removed endpoint", 5000);
    for (let i = 0; i < 4; i++) expect(await text(port)).toBe('a');
    const c = p.snapshot().clusters[0]!;
    expect(c.endpoints.map((e) => e.address)).toEqual([ep(a.port)]);
    expect(c.stats.requests).toBe(4 + 2 + 4); // the same cluster: its counters ran on
    expect(c.endpoints[0]!.requests).toBe(2 + 1 + 4);

    // A changed cluster (balancing policy) is a new one; the old one's slow request still finishes.
    const inFlight = text(port, '/slow');
    await sleep(100);
    await p.update([manifest({ listeners: [{ name: 'edge', address: 0, cluster: 'c' }], clusters: [{ name: 'c', lbPolicy: 'random', endpoints: [ep(b.port)] }] })]);
    expect(await text(port)).toBe('b');
    expect(await inFlight).toBe('a');
    const replaced = p.snapshot().clusters[0]!;
    expect(replaced).toMatchObject({ lbPolicy: 'random', stats: { requests: 1 } });
  });

  it('rejects a wrong update with a ProxyConfigError and keeps serving the running config', async () => {
    const a = await up('a');
    const spec = { listeners: [{ name: 'edge', address: 0, cluster: 'a', filters: [{ type: 'test.counter' }] }], clusters: [{ name: 'a', endpoints: [`127.0.0.1:${a.port}`] }] };
    const p = await proxy(spec);
    const before = filtersMade;
    const bad = [
      { listeners: [{ name: 'edge', address: 0, cluster: 'nope' }], clusters: spec.clusters },
      { listeners: [{ name: 'edge', address: 0, routes: [{ match: { pathRegex: '(' }, cluster: 'a' }] }], clusters: spec.clusters },
      { listeners: [{ name: 'edge', address: 0, cluster: 'a', filters: [{ type: 'no.such.filter' }] }], clusters: spec.clusters },
      { listeners: [spec.listeners[0], { name: 'edge', address: 0, cluster: 'a' }], clusters: spec.clusters },
    ];
    for (const s of bad) await expect(p.update([manifest(s)])).rejects.toBeInstanceOf(ProxyConfigError);
    // A port another process holds: the new listener cannot bind, nothing changes.
    const taken = await up('taken');
    const e = await p.update([manifest({ ...spec, listeners: [...spec.listeners, { name: 'more', address: taken.port, cluster: 'a' }] })]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ProxyConfigError);
    expect((e as ProxyConfigError).path).toEqual(['spec', 'listeners', 1, 'address']);
    expect(Object.keys(p.ports)).toEqual(['edge']);
    expect(await text(p.ports.edge!)).toBe('a');
    expect(filtersMade).toBe(before); // the unchanged filter was kept, nothing else built one
  });

  it('adds, removes and rebinds listeners; filters are kept while their specs stay and closed once replaced', async () => {
    const a = await up('a');
    const clusters = [{ name: 'a', endpoints: [`127.0.0.1:${a.port}`] }];
    const p = await proxy({ listeners: [{ name: 'one', address: 0, cluster: 'a', filters: [{ type: 'test.counter' }] }], clusters });
    const one = p.ports.one!;
    const made = filtersMade;
    const closed = filtersClosed;
    await p.update([manifest({ listeners: [{ name: 'one', address: 0, cluster: 'a', filters: [{ type: 'test.counter' }] }, { name: 'two', address: 0, protocol: 'tcp', cluster: 'a' }], clusters })]);
    expect(p.ports.one).toBe(one);
    expect(filtersMade).toBe(made);
    expect(await text(p.ports.two!)).toBe('a');
    // "one" rebound to a fixed port held by "two", which goes: the port changes hands.
    const fixed = p.ports.two!;
    await p.update([manifest({ listeners: [{ name: 'one', address: fixed, cluster: 'a', filters: [{ type: 'test.counter', config: { n: 1 } }] }], clusters })]);
    expect(p.ports).toEqual({ one: fixed });
    expect(await text(fixed)).toBe('a');
    await expect(http1(one, '/')).rejects.toThrow(/ECONNREFUSED/);
    expect(filtersMade).toBe(made + 1);
    await sleep(200);
    expect(filtersClosed).toBe(closed + 1);
  });
});

describe('weighted clusters and circuit breaker thresholds', () => {
  it('splits requests by weight, and an update shifts the weights', async () => {
    const a = await up('a');
    const b = await up('b');
    const clusters = [{ name: 'a', endpoints: [`127.0.0.1:${a.port}`] }, { name: 'b', endpoints: [`127.0.0.1:${b.port}`] }];
    const spec = (wa: number, wb: number) => ({ listeners: [{ name: 'edge', address: 0, routes: [{ weightedClusters: [{ name: 'a', weight: wa }, { name: 'b', weight: wb }] }] }], clusters });
    const p = await proxy(spec(50, 50));
    const count = async (n: number) => {
      const seen: Record<string, number> = { a: 0, b: 0 };
      for (let i = 0; i < n; i++) seen[await text(p.ports.edge!)]!++;
      return seen;
    };
    const even = await count(200);
    expect(even.a).toBeGreaterThan(50);
    expect(even.b).toBeGreaterThan(50);
    await p.update([manifest(spec(0, 100))]);
    expect(await count(30)).toEqual({ a: 0, b: 30 });
    expect(p.snapshot().listeners[0]!.routes[0]).toMatchObject({ cluster: 'a,b', weightedClusters: [{ name: 'a', weight: 0 }, { name: 'b', weight: 100 }] });
  });

  it('answers 503 overflow past maxRequests in flight', async () => {
    const a = await up('a');
    const p = await proxy({ listeners: [{ name: 'edge', address: 0, cluster: 'a' }], clusters: [{ name: 'a', endpoints: [`127.0.0.1:${a.port}`], circuitBreakers: { maxRequests: 2 } }] });
    const answers = await Promise.all([0, 1, 2, 3].map(() => http1(p.ports.edge!, '/slow')));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 200, 503, 503]);
    expect(answers.find((r) => r.status === 503)!.text).toMatch(/overflow/);
    expect(p.snapshot().clusters[0]!.stats.overflows).toBe(2);
  });
});
