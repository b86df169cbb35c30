// Sidecar to sidecar with the built binary: two sidecars with no configuration find each other
// through the default sqlite registry (a private HOME per suite keeps it apart from other suites),
// and app1 → sidecar1 → sidecar2 → app2 works through /v1.0/invoke/app2/method/...
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { freePort, type Sidecar, startSidecar } from '../helpers/sidecar';

interface ErrorBody {
  errorCode: string;
  message: string;
}

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  bytes: number;
}

/** An HTTP app that answers who it is and what it got; /status/<n> answers n; /echo echoes. */
async function app(name: string): Promise<{ port: number; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    if (req.url === '/dapr/subscribe' || req.url === '/dapr/config') return void res.writeHead(404).end();
    if (req.url?.startsWith('/echo')) {
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' });
      return void req.pipe(res);
    }
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, bytes });
      const status = /^\/status\/(\d+)/.exec(req.url!)?.[1];
      res.writeHead(status ? Number(status) : 200, { 'content-type': 'application/json', 'x-app': name });
      res.end(JSON.stringify({ name }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, seen, server };
}

describe('sidecar to sidecar over the internal port (sqlite name resolution by default)', () => {
  let home: string;
  const sidecars: Sidecar[] = [];
  const servers: Server[] = [];
  const env = () => ({ HOME: home });

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'layotto-ts-home-'));
  });
  afterEach(async () => {
    await Promise.all(sidecars.splice(0).map((s) => s.stop()));
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  async function pair(appId: string, extraArgs: string[] = []): Promise<{ sidecar: Sidecar; app: Awaited<ReturnType<typeof app>> }> {
    const a = await app(appId);
    servers.push(a.server);
    const sidecar = await startSidecar({ appId, env: env(), layotto: false, args: ['--app-port', String(a.port), ...extraArgs] });
    sidecars.push(sidecar);
    return { sidecar, app: a };
  }
  const invoke = (from: Sidecar, path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${from.httpPort}/v1.0/invoke/${path}`, init);
  const registry = () => {
    const db = new Database(join(home, '.dapr', 'nr.db'));
    try {
      return db.prepare('SELECT address, app_id FROM hosts ORDER BY app_id, address').all() as { address: string; app_id: string }[];
    } finally {
      db.close();
    }
  };

  it('app1 → sidecar1 → sidecar2 → app2: verb, path, query, headers, status and body arrive', async () => {
    // 5 MB bodies need more than daprd's default --max-body-size (4Mi).
    const one = await pair('app1', ['--max-body-size', '16Mi']);
    const two = await pair('app2', ['--max-body-size', '16Mi']);
    const res = await invoke(one.sidecar, 'app2/method/orders/7?x=1&y=two', { method: 'PUT', headers: { 'content-type': 'text/plain', 'x-custom': 'v1' }, body: 'hello' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-app')).toBe('app2');
    expect(await res.json()).toEqual({ name: 'app2' });
    expect(two.app.seen).toHaveLength(1);
    const seen = two.app.seen[0]!;
    expect(seen).toMatchObject({ method: 'PUT', url: '/orders/7?x=1&y=two', bytes: 5 });
    expect(seen.headers).toMatchObject({ 'x-custom': 'v1', 'content-type': 'text/plain', 'dapr-caller-app-id': 'app1', 'dapr-callee-app-id': 'app2' });
    expect(one.app.seen).toHaveLength(0);

    const created = await invoke(one.sidecar, 'app2/method/status/201', { method: 'POST', body: '{}' });
    expect(created.status).toBe(201);
    await created.arrayBuffer();

    const big = Buffer.alloc(5 * 1024 * 1024, 7);
    big.write('start', 0);
    big.write('end', big.length - 3);
    const echoed = await invoke(one.sidecar, 'app2/method/echo', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: big });
    expect(echoed.status).toBe(200);
    expect(Buffer.from(await echoed.arrayBuffer()).equals(big)).toBe(true);
  });

  it('a stopped target leaves the registry; the next call is ERR_DIRECT_INVOKE at once, with no hang', async () => {
    const one = await pair('app1');
    const two = await pair('app2');
    expect((await invoke(one.sidecar, 'app2/method/x')).status).toBe(200);
    expect(registry().map((r) => r.app_id)).toEqual(['app1', 'app2']);
    await two.sidecar.stop();
    expect(registry().map((r) => r.app_id)).toEqual(['app1']);
    const started = Date.now();
    const res = await invoke(one.sidecar, 'app2/method/x');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ errorCode: 'ERR_DIRECT_INVOKE', message: 'failed to invoke, id: app2, err: no host found with the given ID' });
  });

  it('a killed target (no goodbye) is dropped from the registry at the next call', async () => {
    const one = await pair('app1');
    const two = await pair('app2');
    expect((await invoke(one.sidecar, 'app2/method/x')).status).toBe(200);
    await two.sidecar.stop('SIGKILL');
    const started = Date.now();
    const res = await invoke(one.sidecar, 'app2/method/x');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(res.status).toBe(500);
    expect(((await res.json()) as ErrorBody).message).toBe('failed to invoke, id: app2, err: no host found with the given ID');
  });

  it('several instances of one app id share the calls', async () => {
    const one = await pair('app1');
    const a = await pair('app2');
    const b = await pair('app2');
    for (let i = 0; i < 8; i++) expect((await invoke(one.sidecar, `app2/method/n/${i}`)).status).toBe(200);
    expect(a.app.seen.length + b.app.seen.length).toBe(8);
    expect(a.app.seen.length).toBe(4);
    expect(b.app.seen.length).toBe(4);
  });

  it('honours --dapr-internal-grpc-port and --dapr-internal-grpc-listen-address', async () => {
    const port = await freePort();
    const two = await pair('app2', ['--dapr-internal-grpc-port', String(port), '--dapr-internal-grpc-listen-address', '127.0.0.1']);
    expect(two.sidecar.output()).toContain(`Internal gRPC server is running on 127.0.0.1:${port}`);
    expect(registry()).toContainEqual({ address: `127.0.0.1:${port}`, app_id: 'app2' });
    const one = await pair('app1');
    expect((await invoke(one.sidecar, 'app2/method/x')).status).toBe(200);
  });

  it('a configured resolver that cannot start stops startup; kubernetes names need no lookup to start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'layotto-ts-cfg-'));
    try {
      const bad = join(dir, 'bad.yaml');
      writeFileSync(bad, 'apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: c\nspec:\n  nameResolution:\n    component: nosuch\n');
      const failed = await startSidecar({ appId: 'app9', env: env(), layotto: false, args: ['--config', bad], wait: false });
      sidecars.push(failed);
      expect(await failed.exited).toBe(1);
      expect(failed.output()).toContain("couldn't find name resolver nosuch/v1");

      const k8s = join(dir, 'k8s.yaml');
      // A template naming this host only: a test must not send DNS (or mDNS, for .local) queries out.
      writeFileSync(k8s, 'apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: c\nspec:\n  nameResolution:\n    component: kubernetes\n    configuration:\n      template: "localhost:1"\n');
      const sc = await startSidecar({ appId: 'app9', env: env(), layotto: false, args: ['--config', k8s] });
      sidecars.push(sc);
      expect(sc.output()).toContain('Initialized name resolution to kubernetes');
      // Nothing listens there: ERR_DIRECT_INVOKE naming the address, not a hang.
      const res = await invoke(sc, 'orders/method/x');
      expect(res.status).toBe(500);
      const body = (await res.json()) as ErrorBody;
      expect(body.errorCode).toBe('ERR_DIRECT_INVOKE');
      expect(body.message).toMatch(/^failed to invoke.*id: orders.*cannot connect to localhost:1/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
