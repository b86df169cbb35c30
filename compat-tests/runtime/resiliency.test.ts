// The Resiliency resource in the built binary: inbound policies retry deliveries to a plain
// node:http app (it fails twice, then succeeds; a slow delivery is cut at the timeout) before the
// message goes back to the broker; an outbound policy carries a state save across a Redis restart;
// a bad resource stops startup naming file and line.
import { createServer, type Server } from 'node:http';
import { findBinary, PrivateServer } from '../helpers/private-server';
import { publishHttp, uniqueTopic, until } from '../helpers/pubsub';
import { componentYaml, freePort, type Sidecar, startSidecar } from '../helpers/sidecar';

const APP_ID = 'resilient-app';

const RESILIENCY = `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: resiliency
scopes: [${APP_ID}]
spec:
  policies:
    timeouts:
      quick: 300ms
    retries:
      threeTimes: {policy: constant, duration: 100ms, maxRetries: 3}
      once: {policy: constant, duration: 50ms, maxRetries: 1}
  targets:
    components:
      pubsub:
        inbound: {retry: threeTimes, timeout: quick}
      pubsub-short:
        inbound: {retry: once}
`;

interface Delivery {
  id: string;
  path: string;
  at: number;
  attempt: number;
}

/** A plain HTTP app: subscribes to `topics` (route = /<topic>) and answers each delivery by attempt. */
class App {
  readonly deliveries: Delivery[] = [];
  private server?: Server;

  constructor(
    private readonly topics: { pubsub: string; topic: string }[],
    private readonly answer: (d: Delivery) => Promise<{ status: number; body?: string }>,
  ) {}

  listen(port: number): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method === 'GET' && req.url === '/dapr/subscribe') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.topics.map((t) => ({ pubsubname: t.pubsub, topic: t.topic, route: `/${t.topic}` }))));
          return;
        }
        const id = String((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: unknown }).id);
        const path = req.url ?? '';
        const d = { id, path, at: Date.now(), attempt: this.deliveries.filter((x) => x.id === id).length + 1 };
        this.deliveries.push(d);
        void this.answer(d).then((a) => res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body ?? ''));
      });
    });
    return new Promise((r) => this.server!.listen(port, '127.0.0.1', () => r()));
  }

  on(path: string): Delivery[] {
    return this.deliveries.filter((d) => d.path === path);
  }

  async waitOn(path: string, count: number): Promise<Delivery[]> {
    await until(() => this.on(path).length >= count, () => `${count} deliveries to ${path}, got ${this.on(path).length}`);
    return this.on(path);
  }

  close(): Promise<void> {
    return new Promise((r) => {
      if (!this.server) return r();
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }
}

const gaps = (ds: Delivery[]) => ds.slice(1).map((d, i) => d.at - ds[i]!.at);

describe('Resiliency: pub/sub deliveries to an HTTP app', () => {
  const t = { flaky: uniqueTopic('flaky'), slow: uniqueTopic('slow'), spent: uniqueTopic('spent') };
  let app: App;
  let sc: Sidecar;
  /** Held deliveries of the slow topic, answered when the test ends. */
  const held: (() => void)[] = [];

  beforeAll(async () => {
    app = new App(
      [
        { pubsub: 'pubsub', topic: t.flaky },
        { pubsub: 'pubsub', topic: t.slow },
        { pubsub: 'pubsub-short', topic: t.spent },
      ],
      async (d) => {
        if (d.path === `/${t.flaky}`) return d.attempt === 1 ? { status: 500 } : d.attempt === 2 ? { status: 200, body: '{"status":"RETRY"}' } : { status: 200 };
        if (d.path === `/${t.slow}` && d.attempt === 1) await new Promise<void>((r) => held.push(r));
        if (d.path === `/${t.spent}` && d.attempt <= 2) return { status: 500 };
        return { status: 200 };
      },
    );
    const appPort = await freePort();
    await app.listen(appPort);
    sc = await startSidecar({
      appId: APP_ID,
      args: ['--app-port', String(appPort)],
      resources: {
        // The broker itself would redeliver only after a minute: quick repeats are the policy's.
        'pubsub.yaml': componentYaml('pubsub', 'pubsub.in-memory', { redeliverInterval: '60s' }),
        'pubsub-short.yaml': componentYaml('pubsub-short', 'pubsub.in-memory', { redeliverInterval: '400ms' }),
        'resiliency.yaml': RESILIENCY,
      },
    });
  });

  afterAll(async () => {
    for (const r of held) r();
    await sc?.stop();
    await app?.close();
  });

  it('retries a delivery the app failed twice (HTTP 500, then RETRY) until it succeeds, duration apart', async () => {
    expect((await publishHttp(sc, 'pubsub', t.flaky, '{"order":1}')).status).toBe(204);
    const ds = await app.waitOn(`/${t.flaky}`, 3);
    expect(ds.map((d) => d.attempt)).toEqual([1, 2, 3]);
    expect(new Set(ds.map((d) => d.id)).size).toBe(1);
    for (const gap of gaps(ds)) expect(gap).toBeGreaterThanOrEqual(90);
  });

  it('cuts a delivery the app holds past the timeout and delivers it again', async () => {
    expect((await publishHttp(sc, 'pubsub', t.slow, '{"order":2}')).status).toBe(204);
    const ds = await app.waitOn(`/${t.slow}`, 2);
    expect(held).toHaveLength(1); // the first delivery is still unanswered
    expect(ds[1]!.at - ds[0]!.at).toBeGreaterThanOrEqual(290); // timeout 300 ms (+ 100 ms retry wait)
  });

  it('hands the message back to the broker once the policy is spent, which redelivers it (at least once)', async () => {
    expect((await publishHttp(sc, 'pubsub-short', t.spent, '{"order":3}')).status).toBe(204);
    const ds = await app.waitOn(`/${t.spent}`, 3);
    expect(ds.map((d) => d.attempt)).toEqual([1, 2, 3]);
    // Two attempts under the policy 50 ms apart, then the broker's redelivery 400 ms later.
    expect(gaps(ds)[0]).toBeGreaterThanOrEqual(45);
    expect(gaps(ds)[1]).toBeGreaterThanOrEqual(390);
  });
});

describe('Resiliency: a state store target', () => {
  const binary = findBinary('redis-server', 'the Resiliency state store tests');
  const run = binary ? it : it.skip;
  let redis: PrivateServer | undefined;
  let sc: Sidecar | undefined;

  afterAll(async () => {
    await sc?.stop();
    await redis?.remove();
  });

  run('carries a save across a Redis restart with its outbound retries', async () => {
    const port = await freePort();
    redis = new PrivateServer({ name: 'redis-server', binary: binary!, port, args: (dir) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir] });
    await redis.start();
    sc = await startSidecar({
      appId: APP_ID,
      resources: {
        // redisMaxRetries 0: a command fails as soon as the connection is down, for the policy to retry.
        'statestore.yaml': componentYaml('statestore', 'state.redis', { redisHost: `127.0.0.1:${port}`, redisMaxRetries: '0' }),
        'resiliency.yaml': `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: state
spec:
  policies:
    timeouts:
      perCall: 1s
    retries:
      patient: {policy: constant, duration: 200ms, maxRetries: 50}
  targets:
    components:
      statestore:
        outbound: {timeout: perCall, retry: patient}
`,
      },
    });
    const url = `http://127.0.0.1:${sc.httpPort}/v1.0/state/statestore`;
    expect((await fetch(url, { method: 'POST', body: '[{"key":"before","value":1}]' })).status).toBe(204);

    await redis.kill();
    const save = fetch(url, { method: 'POST', body: '[{"key":"during","value":{"n":2}}]' });
    // Bring Redis back once the sidecar has seen the save fail and started retrying it.
    await until(() => sc!.output().includes('component[statestore] outbound, retrying'), () => `a retry in the sidecar log:\n${sc!.output()}`);
    await redis.start();
    expect((await save).status).toBe(204);
    const got = await fetch(`${url}/during`);
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual({ n: 2 });
  });
});

describe('Resiliency: a bad resource', () => {
  it('stops startup naming the file, the line and the field', async () => {
    const sc = await startSidecar({
      wait: false,
      resources: {
        'resiliency.yaml': `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: bad
spec:
  policies:
    circuitBreakers:
      cb:
        trip: consecutiveFailures >= five
`,
      },
    });
    const code = await sc.exited;
    expect(code).not.toBe(0);
    expect(sc.output()).toMatch(/resiliency\.yaml:9: spec\.policies\.circuitBreakers\.cb\.trip: invalid trip expression \\?"consecutiveFailures >= five\\?".*Unknown variable: five/);
  });
});
