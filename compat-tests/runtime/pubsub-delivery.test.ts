// daprd's delivery contract to an HTTP app, pinned with a plain node:http app (no SDK) against the
// built sidecar on pubsub.in-memory: subscription discovery (GET /dapr/subscribe v1 `route` and v2
// `routes` with CEL rules; 404 = none; an app slow to listen), declarative Subscription resources
// (v1alpha1, v2alpha1, scopes), the request (CloudEvent body, content type, pubsubname and
// traceparent headers), every app answer (SUCCESS, RETRY, DROP + dead letter, 404, 500, unknown
// status), --app-max-concurrency, ttlInSeconds expiry, cloudevent.* overrides, a caller's own
// CloudEvent and big JSON integers kept digit for digit.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { freePort, type Sidecar, startSidecar, waitHealthy } from '../helpers/sidecar';
import { httpSubscriptions, PUBSUB, PUBSUB_BACKENDS, pubsubYaml, publishHttp, uniqueTopic, until } from '../helpers/pubsub';

const APP_ID = 'delivery-app';
const RETRY = '{"status":"RETRY"}';
/** pubsub.in-memory with a 100 ms redelivery interval. */
const IN_MEMORY = pubsubYaml(PUBSUB_BACKENDS.find((b) => b.type === 'pubsub.in-memory')!);

interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  /** The body exactly as sent. */
  raw: string;
  body: Record<string, unknown>;
  /** How many times this path has seen this CloudEvent id, this delivery included. */
  attempt: number;
}

interface Answer {
  status: number;
  body?: string;
}

/** An HTTP app: answers GET /dapr/subscribe, records every POST, answers by path. */
class App {
  readonly deliveries: Delivery[] = [];
  subscribeCalls = 0;
  inFlight = 0;
  maxInFlight = 0;
  private readonly attempts = new Map<string, number>();
  private server?: Server;

  constructor(
    private readonly subscriptions: unknown[] | 'not-found',
    private readonly answer: (d: Delivery) => Answer = () => ({ status: 200 }),
    /** Time each delivery is held before the answer (to overlap concurrent deliveries). */
    private readonly holdMs = 0,
  ) {}

  listen(port: number): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void this.handle(req.method ?? '', req.url ?? '', req.headers, Buffer.concat(chunks).toString('utf8')).then((a) => res.writeHead(a.status).end(a.body ?? '')));
    });
    return new Promise((r) => this.server!.listen(port, '127.0.0.1', () => r()));
  }

  private async handle(method: string, url: string, headers: IncomingHttpHeaders, raw: string): Promise<Answer> {
    if (method === 'GET' && url === '/dapr/subscribe') {
      this.subscribeCalls++;
      return this.subscriptions === 'not-found' ? { status: 404 } : { status: 200, body: JSON.stringify(this.subscriptions) };
    }
    const body = JSON.parse(raw) as Record<string, unknown>;
    const key = `${url} ${String(body.id)}`;
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempt);
    const d: Delivery = { path: url, headers, raw, body, attempt };
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (this.holdMs > 0) await new Promise((r) => setTimeout(r, this.holdMs));
    this.inFlight--;
    this.deliveries.push(d);
    return this.answer(d);
  }

  /** Deliveries to a path (optionally of one CloudEvent id). */
  on(path: string, id?: string): Delivery[] {
    return this.deliveries.filter((d) => d.path === path && (id === undefined || d.body.id === id));
  }

  /** Resolves with the deliveries to a path (of one id) once there are `count` of them. */
  async waitOn(path: string, id?: string, count = 1): Promise<Delivery[]> {
    await until(() => this.on(path, id).length >= count, () => `${count} deliveries to ${path}${id ? ` of ${id}` : ''}; got ${this.on(path, id).length} (all: ${this.deliveries.map((d) => `${d.path} ${String(d.body.id)}`).join(', ')})`);
    return this.on(path, id);
  }

  close(): Promise<void> {
    return new Promise((r) => {
      if (!this.server) return r();
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }
}

const subscriptionYaml = (apiVersion: string, name: string, spec: string, scopes: string[] = []) =>
  `apiVersion: dapr.io/${apiVersion}\nkind: Subscription\nmetadata:\n  name: ${name}\nspec:\n${spec}\n${scopes.length ? `scopes:\n${scopes.map((s) => `  - ${s}`).join('\n')}\n` : ''}`;

describe('HTTP app delivery contract (plain node:http app)', () => {
  const t = {
    v1: uniqueTopic('v1'),
    v2: uniqueTopic('v2'),
    ok: uniqueTopic('ok'),
    retry: uniqueTopic('retry'),
    drop: uniqueTopic('drop'),
    dlq: uniqueTopic('dlq'),
    notFound: uniqueTopic('notfound'),
    err: uniqueTopic('err'),
    unknown: uniqueTopic('unknown'),
    clock: uniqueTopic('clock'),
    ttl: uniqueTopic('ttl'),
    ttlDlq: uniqueTopic('ttl-dlq'),
    ce: uniqueTopic('ce'),
    declV1: uniqueTopic('decl-v1'),
    declV2: uniqueTopic('decl-v2'),
    scopedOut: uniqueTopic('scoped-out'),
  };
  const CLOCK_RETRIES = 4;
  const answers: Record<string, (d: Delivery) => Answer> = {
    '/retry': (d) => ({ status: 200, body: d.attempt === 1 ? RETRY : '{"status":"SUCCESS"}' }),
    '/drop': () => ({ status: 200, body: '{"status":"DROP"}' }),
    '/notfound': () => ({ status: 404 }),
    '/err': (d) => ({ status: d.attempt === 1 ? 500 : 200 }),
    '/unknown': (d) => ({ status: 200, body: d.attempt === 1 ? '{"status":"MAYBE"}' : '' }),
    '/clock': (d) => ({ status: 200, body: d.attempt <= CLOCK_RETRIES ? RETRY : '' }),
    '/ttl': () => ({ status: 200, body: RETRY }),
  };
  const sub = (topic: string, route: string, extra: Record<string, unknown> = {}) => ({ pubsubname: PUBSUB, topic, route, ...extra });
  const app = new App(
    [
      sub(t.v1, '/v1'),
      {
        pubsubname: PUBSUB,
        topic: t.v2,
        routes: { rules: [{ match: 'event.type == "widget"', path: '/v2/widget' }, { match: 'event.data.x > 10', path: '/v2/big' }], default: '/v2/default' },
      },
      sub(t.ok, '/ok'),
      sub(t.retry, '/retry'),
      sub(t.drop, '/drop', { deadLetterTopic: t.dlq }),
      sub(t.dlq, '/dlq'),
      sub(t.notFound, '/notfound'),
      sub(t.err, '/err'),
      sub(t.unknown, '/unknown'),
      sub(t.clock, '/clock'),
      sub(t.ttl, '/ttl', { deadLetterTopic: t.ttlDlq }),
      // Raw, so the expired original reaches the app (a CloudEvent subscription would drop it again).
      sub(t.ttlDlq, '/ttl-dlq', { metadata: { rawPayload: 'true' } }),
      sub(t.ce, '/ce'),
    ],
    (d) => (answers[d.path] ?? (() => ({ status: 200 })))(d),
  );
  let sc: Sidecar;
  let healthBeforeApp = 0;

  beforeAll(async () => {
    const port = await freePort();
    sc = await startSidecar({
      appId: APP_ID,
      wait: false,
      args: ['--app-port', String(port)],
      resources: {
        'pubsub.yaml': IN_MEMORY,
        'decl-v1.yaml': subscriptionYaml('v1alpha1', 'decl-v1', `  pubsubname: ${PUBSUB}\n  topic: ${t.declV1}\n  route: /decl-v1`, [APP_ID]),
        'decl-v2.yaml': subscriptionYaml(
          'v2alpha1',
          'decl-v2',
          `  pubsubname: ${PUBSUB}\n  topic: ${t.declV2}\n  routes:\n    rules:\n      - match: event.type == "decl.widget"\n        path: /decl-v2/widget\n    default: /decl-v2/default`,
        ),
        'scoped-out.yaml': subscriptionYaml('v1alpha1', 'scoped-out', `  pubsubname: ${PUBSUB}\n  topic: ${t.scopedOut}\n  route: /scoped-out`, ['some-other-app']),
      },
    });
    // The app is slow to start: the sidecar answers, but is not healthy while the port is closed.
    await until(
      async () => {
        healthBeforeApp = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/healthz`).then((r) => r.status, () => 0);
        return healthBeforeApp !== 0;
      },
      () => `the sidecar's HTTP port to answer:\n${sc.output()}`,
    );
    await app.listen(port);
    await waitHealthy(sc);
  });

  afterAll(async () => {
    await sc?.stop();
    await app.close();
  });

  const publish = async (topic: string, body: string, contentType = 'application/json', metadata: Record<string, string> = {}, headers: Record<string, string> = {}) => {
    const res = await publishHttp(sc, PUBSUB, topic, body, { contentType, metadata, headers });
    expect(res).toEqual({ status: 204, text: '' });
  };

  /**
   * The clock for "not redelivered": an event the app answers RETRY CLOCK_RETRIES times. Once its
   * last delivery arrived, the broker has had CLOCK_RETRIES redelivery rounds since the call.
   */
  const redeliveryRounds = async () => {
    const id = `clock-${randomUUID()}`;
    await publish(t.clock, '"tick"', 'application/json', { 'cloudevent.id': id });
    await app.waitOn('/clock', id, CLOCK_RETRIES + 1);
  };

  it('an app slow to listen: the sidecar waits for its port, then reads its subscriptions and turns healthy', async () => {
    expect(healthBeforeApp).toBe(500);
    expect(app.subscribeCalls).toBeGreaterThanOrEqual(1);
    expect(sc.output()).toContain(`waiting for the app on 127.0.0.1:`);
  });

  it('v1 `route`: POST of the CloudEvent as application/cloudevents+json with pubsubname and traceparent headers', async () => {
    const traceId = randomUUID().replace(/-/g, '');
    await publish(t.v1, '{"order":1}', 'application/json', {}, { traceparent: `00-${traceId}-0123456789abcdef-01` });
    const [d] = await app.waitOn('/v1');
    expect(d!.headers['content-type']).toBe('application/cloudevents+json');
    expect(d!.headers.pubsubname).toBe(PUBSUB);
    expect(d!.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-0[01]$`));
    expect(d!.body).toMatchObject({
      specversion: '1.0',
      type: 'com.dapr.event.sent',
      source: APP_ID,
      topic: t.v1,
      pubsubname: PUBSUB,
      datacontenttype: 'application/json',
      data: { order: 1 },
      id: expect.any(String),
      time: expect.any(String),
    });
    expect(d!.body.traceparent).toBe(d!.headers.traceparent);
  });

  it('v2 `routes`: CEL rules on event.type and event.data.x in order, then `default`', async () => {
    await publish(t.v2, '{"x":1}', 'application/json', { 'cloudevent.type': 'widget', 'cloudevent.id': 'v2-widget' });
    await publish(t.v2, '{"x":20}', 'application/json', { 'cloudevent.id': 'v2-big' });
    await publish(t.v2, '{"x":3}', 'application/json', { 'cloudevent.id': 'v2-default' });
    expect((await app.waitOn('/v2/widget', 'v2-widget'))[0]!.body.data).toEqual({ x: 1 });
    expect((await app.waitOn('/v2/big', 'v2-big'))[0]!.body.data).toEqual({ x: 20 });
    expect((await app.waitOn('/v2/default', 'v2-default'))[0]!.body.data).toEqual({ x: 3 });
    expect(app.deliveries.filter((d) => d.path.startsWith('/v2/')).map((d) => `${d.path} ${String(d.body.id)}`).sort()).toEqual([
      '/v2/big v2-big',
      '/v2/default v2-default',
      '/v2/widget v2-widget',
    ]);
  });

  it('the metadata API lists the programmatic and in-scope declarative subscriptions', async () => {
    const subs = await httpSubscriptions(sc);
    expect(subs).toEqual(
      expect.arrayContaining([
        { pubsubname: PUBSUB, topic: t.v1, rules: [{ path: '/v1' }], type: 'PROGRAMMATIC' },
        {
          pubsubname: PUBSUB,
          topic: t.v2,
          rules: [{ match: 'event.type == "widget"', path: '/v2/widget' }, { match: 'event.data.x > 10', path: '/v2/big' }, { path: '/v2/default' }],
          type: 'PROGRAMMATIC',
        },
        { pubsubname: PUBSUB, topic: t.drop, rules: [{ path: '/drop' }], deadLetterTopic: t.dlq, type: 'PROGRAMMATIC' },
        expect.objectContaining({ topic: t.declV1, type: 'DECLARATIVE' }),
        expect.objectContaining({ topic: t.declV2, type: 'DECLARATIVE' }),
      ]),
    );
    expect(subs.find((s) => s.topic === t.scopedOut)).toBeUndefined();
  });

  it('declarative Subscription resources: v1alpha1 `route` and v2alpha1 rules deliver; one scoped to another app id is not used', async () => {
    await publish(t.scopedOut, '"not for this app"', 'application/json', { 'cloudevent.id': 'scoped-out' });
    await publish(t.declV1, '"v1"', 'application/json', { 'cloudevent.id': 'decl-v1' });
    await publish(t.declV2, '"widget"', 'application/json', { 'cloudevent.id': 'decl-v2-widget', 'cloudevent.type': 'decl.widget' });
    await publish(t.declV2, '"other"', 'application/json', { 'cloudevent.id': 'decl-v2-other' });
    expect((await app.waitOn('/decl-v1', 'decl-v1'))[0]!.body.data).toBe('v1');
    expect((await app.waitOn('/decl-v2/widget', 'decl-v2-widget'))[0]!.body.data).toBe('widget');
    expect((await app.waitOn('/decl-v2/default', 'decl-v2-other'))[0]!.body.data).toBe('other');
    await redeliveryRounds();
    expect(app.deliveries.filter((d) => d.body.id === 'scoped-out' || d.path === '/scoped-out')).toEqual([]);
  });

  it('answers: 2xx with an empty body acks; RETRY, 500 and an unknown status are redelivered; 404 and DROP are not', async () => {
    await publish(t.ok, '"ok"', 'application/json', { 'cloudevent.id': 'ans-ok' });
    await publish(t.retry, '"retry"', 'application/json', { 'cloudevent.id': 'ans-retry' });
    await publish(t.err, '"err"', 'application/json', { 'cloudevent.id': 'ans-err' });
    await publish(t.unknown, '"unknown"', 'application/json', { 'cloudevent.id': 'ans-unknown' });
    await publish(t.notFound, '"nf"', 'application/json', { 'cloudevent.id': 'ans-nf' });
    await publish(t.drop, '"drop"', 'application/json', { 'cloudevent.id': 'ans-drop' });
    // Redelivered: the second delivery arrives (and is acked).
    await app.waitOn('/retry', 'ans-retry', 2);
    await app.waitOn('/err', 'ans-err', 2);
    await app.waitOn('/unknown', 'ans-unknown', 2);
    // DROP: the original goes to the deadLetterTopic.
    const [dead] = await app.waitOn('/dlq', 'ans-drop');
    expect(dead!.body).toMatchObject({ id: 'ans-drop', topic: t.drop, data: 'drop' });
    await app.waitOn('/ok', 'ans-ok');
    await app.waitOn('/notfound', 'ans-nf');
    await redeliveryRounds();
    expect(app.on('/ok', 'ans-ok')).toHaveLength(1);
    expect(app.on('/notfound', 'ans-nf')).toHaveLength(1);
    expect(app.on('/drop', 'ans-drop')).toHaveLength(1);
    expect(app.on('/dlq', 'ans-drop')).toHaveLength(1);
    expect(app.on('/retry', 'ans-retry')).toHaveLength(2);
    expect(app.on('/err', 'ans-err')).toHaveLength(2);
    expect(app.on('/unknown', 'ans-unknown')).toHaveLength(2);
  });

  it('metadata.ttlInSeconds on in-memory: `expiration` is in the envelope; an event still retried after it expires is dropped (dead-lettered)', async () => {
    const id = `ttl-${randomUUID()}`;
    const before = Date.now();
    await publish(t.ttl, '{"n":1}', 'application/json', { ttlInSeconds: '1', 'cloudevent.id': id });
    const [first] = await app.waitOn('/ttl', id);
    const expiration = Date.parse(String(first!.body.expiration));
    expect(expiration).toBeGreaterThan(before - 1000);
    expect(expiration).toBeLessThanOrEqual(Date.now() + 1000);
    // The app never takes it; once expired the sidecar drops it to the dead-letter topic.
    const [dead] = await app.waitOn('/ttl-dlq');
    expect(JSON.parse(Buffer.from(String(dead!.body.data_base64), 'base64').toString('utf8'))).toMatchObject({ id, topic: t.ttl });
    await until(() => sc.output().includes(`dropping expired pub/sub event ${id}`), () => sc.output());
    const seen = app.on('/ttl', id).length;
    await redeliveryRounds();
    expect(app.on('/ttl', id)).toHaveLength(seen);
  });

  it('metadata.cloudevent.id/type/source/subject override the envelope fields', async () => {
    const id = `override-${randomUUID()}`;
    await publish(t.ce, 'hello', 'text/plain', { 'cloudevent.id': id, 'cloudevent.type': 'my.type', 'cloudevent.source': 'my-source', 'cloudevent.subject': 'my-subject' });
    const [d] = await app.waitOn('/ce', id);
    expect(d!.body).toMatchObject({ id, type: 'my.type', source: 'my-source', subject: 'my-subject', datacontenttype: 'text/plain', data: 'hello', topic: t.ce });
  });

  it("an application/cloudevents+json publish keeps the caller's own fields", async () => {
    const id = `own-${randomUUID()}`;
    const own = { specversion: '1.0', id, source: 'urn:caller', type: 'caller.type', datacontenttype: 'application/json', data: { k: 'v' }, myext: 'ext-value' };
    await publish(t.ce, JSON.stringify(own), 'application/cloudevents+json');
    const [d] = await app.waitOn('/ce', id);
    expect(d!.body).toMatchObject({ ...own, topic: t.ce, pubsubname: PUBSUB });
  });

  it('a JSON body with a big integer keeps its digits in the delivered body', async () => {
    const id = `big-${randomUUID()}`;
    await publish(t.ce, '{"big":12345678901234567890}', 'application/json', { 'cloudevent.id': id });
    const [d] = await app.waitOn('/ce', id);
    expect(d!.raw).toContain('"big":12345678901234567890');
  });
});

describe('HTTP app whose GET /dapr/subscribe answers 404', () => {
  const app = new App('not-found');
  let sc: Sidecar;

  beforeAll(async () => {
    const port = await freePort();
    sc = await startSidecar({ wait: false, args: ['--app-port', String(port)], resources: { 'pubsub.yaml': IN_MEMORY } });
    await app.listen(port);
    await waitHealthy(sc);
  });

  afterAll(async () => {
    await sc?.stop();
    await app.close();
  });

  it('has no subscriptions and the sidecar still turns healthy', async () => {
    expect(app.subscribeCalls).toBe(1);
    expect(await httpSubscriptions(sc)).toEqual([]);
    expect((await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/healthz`)).status).toBe(204);
  });
});

describe('--app-max-concurrency', () => {
  const topic = uniqueTopic('capped');
  const apps: App[] = [];
  const sidecars: Sidecar[] = [];

  afterAll(async () => {
    await Promise.all(sidecars.map((s) => s.stop()));
    await Promise.all(apps.map((a) => a.close()));
  });

  /** Publishes 6 events at once to an app that holds each delivery 100 ms; resolves with the app. */
  const burst = async (args: string[]) => {
    const app = new App([{ pubsubname: PUBSUB, topic, route: '/slow' }], () => ({ status: 200 }), 100);
    apps.push(app);
    const port = await freePort();
    const sc = await startSidecar({ wait: false, args: ['--app-port', String(port), ...args], resources: { 'pubsub.yaml': IN_MEMORY } });
    sidecars.push(sc);
    await app.listen(port);
    await waitHealthy(sc);
    await Promise.all(Array.from({ length: 6 }, (_, i) => publishHttp(sc, PUBSUB, topic, String(i), { metadata: { 'cloudevent.id': `slow-${i}` } })));
    await app.waitOn('/slow', undefined, 6);
    return app;
  };

  it('uncapped, deliveries overlap (the control)', async () => {
    expect((await burst([])).maxInFlight).toBeGreaterThan(1);
  });

  it('1: never more than one delivery in flight, and every event still arrives', async () => {
    const app = await burst(['--app-max-concurrency', '1']);
    expect(app.maxInFlight).toBe(1);
    expect(app.on('/slow').map((d) => d.body.id).sort()).toEqual(['slow-0', 'slow-1', 'slow-2', 'slow-3', 'slow-4', 'slow-5']);
  });
});
