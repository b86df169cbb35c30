// Pub/sub compat helpers shared by the SDK suites: the broker matrix (in-memory always, Redis when
// it answers and pubsub.redis is registered), a polling wait, an inbox that records deliveries, an
// "app" (the built sidecar started with --app-port plus a real @dapr/dapr DaprServer on that port:
// the sidecar reads the app's subscriptions once the app listens, then turns healthy), and the
// delivery cases both SDK suites run against their app protocol.
import { CommunicationProtocolEnum, DaprClient, DaprPubSubStatusEnum, DaprServer, LogLevel } from '@dapr/dapr';
import { registries } from '../../src/components/builtin';
import { requireService } from '../../test/services';
import { until } from '../../test/wait';
import { uniqueRun } from './lock-backends';
import { componentYaml, freePort, PortTakenError, type Sidecar, type SidecarOptions, startSidecar, waitHealthy, whileRunning } from './sidecar';

export const PUBSUB = 'pubsub';

export interface PubSubBackend {
  type: string;
  metadata: Record<string, string>;
  reachable: () => Promise<boolean>;
  /** A real broker several sidecars share (competing consumers of one app id, fan-out across ids). */
  shared: boolean;
}

// Short redelivery so RETRY cases settle in well under a second; consumerID is left to its
// default, the app id.
export const PUBSUB_BACKENDS: PubSubBackend[] = [
  { type: 'pubsub.in-memory', metadata: { redeliverInterval: '100ms' }, reachable: async () => true, shared: false },
  {
    type: 'pubsub.redis',
    metadata: { redisHost: 'localhost:6379', processingTimeout: '500ms', redeliverInterval: '100ms' },
    reachable: () => requireService('redis', '127.0.0.1', 6379),
    shared: true,
  },
];

/** Only types src/components/builtin.ts registers are run; the others show as skipped. */
export const pubsubRegistered = (type: string): boolean => registries.pubsub.find(type.replace(/^pubsub\./, '')) !== undefined;

export const pubsubYaml = (backend: PubSubBackend, name = PUBSUB): string => componentYaml(name, backend.type, backend.metadata);

/** The shared polling wait (test/wait.ts), re-exported for the SDK suites. */
export { until };

export interface Delivery {
  data: unknown;
  headers: Record<string, unknown>;
}

/** How a recording handler answers: `nth` counts the deliveries of equal data so far (1 = first). */
export type Respond = (data: unknown, nth: number) => unknown;

/** Deliveries recorded per key (a topic, a route); `wait` polls until a key holds enough of them. */
export class Inbox {
  private readonly byKey = new Map<string, Delivery[]>();

  get(key: string): Delivery[] {
    return this.byKey.get(key) ?? [];
  }

  /** How many times `data` (compared as JSON) reached `key`. */
  count(key: string, data: unknown): number {
    const want = JSON.stringify(data);
    return this.get(key).filter((d) => JSON.stringify(d.data) === want).length;
  }

  async wait(key: string, n = 1, ms = 15000): Promise<Delivery[]> {
    await until(() => this.get(key).length >= n, () => `${n} deliveries on ${key}, got ${JSON.stringify(this.get(key).map((d) => d.data))}`, ms);
    return this.get(key);
  }

  async waitFor(key: string, data: unknown, times = 1, ms = 15000): Promise<void> {
    await until(() => this.count(key, data) >= times, () => `${JSON.stringify(data)} ${times}x on ${key}, got ${JSON.stringify(this.get(key).map((d) => d.data))}`, ms);
  }

  /** An SDK pub/sub callback that records into `key`, then answers `respond` (or throws with it). */
  handler(key: string, respond?: Respond) {
    return async (data: unknown, headers: object): Promise<unknown> => {
      this.byKey.set(key, [...this.get(key), { data, headers: headers as Record<string, unknown> }]);
      return respond?.(data, this.count(key, data));
    };
  }
}

/** The SDK's logger, silenced: handler failures are part of the cases. */
export const quietLogger = { level: LogLevel.Error, service: { error() {}, warn() {}, info() {}, verbose() {}, debug() {} } };

export type AppProtocol = 'http' | 'grpc';

const sdkProtocol = (p: AppProtocol) => (p === 'grpc' ? CommunicationProtocolEnum.GRPC : CommunicationProtocolEnum.HTTP);

/** The options of a DaprClient on `sc`'s Dapr port for `protocol` (maxBodySizeMb: the SDK's default, 4, when absent). */
const clientOptions = (sc: Sidecar, protocol: AppProtocol, maxBodySizeMb?: number) => ({
  daprHost: '127.0.0.1',
  daprPort: String(protocol === 'grpc' ? sc.grpcPort : sc.httpPort),
  communicationProtocol: sdkProtocol(protocol),
  ...(maxBodySizeMb !== undefined && { maxBodySizeMb }),
  logger: quietLogger,
});

export function sdkClient(sc: Sidecar, protocol: AppProtocol, maxBodySizeMb?: number): DaprClient {
  return new DaprClient(clientOptions(sc, protocol, maxBodySizeMb));
}

export interface DaprApp {
  sc: Sidecar;
  server: DaprServer;
  stop: () => Promise<void>;
}

/** The sidecar's options (resources, args, env...) plus the app's. */
export interface DaprAppOptions extends Omit<SidecarOptions, 'appId' | 'wait'> {
  protocol: AppProtocol;
  appId: string;
  /** Registers the app's subscriptions or methods (before it starts: the sidecar reads subscriptions once). */
  subscribe: (server: DaprServer) => Promise<void>;
  /** The largest body the DaprServer and its client take (the SDK's default is 4). */
  maxBodySizeMb?: number;
}

/**
 * Spawns a sidecar for an app port, starts a DaprServer there (its embedded client talks to the
 * sidecar over the same protocol) and waits until the sidecar read the subscriptions.
 */
export async function startDaprApp(opts: DaprAppOptions): Promise<DaprApp> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchDaprApp(opts);
    } catch (e) {
      if (e instanceof PortTakenError && attempt < 3) continue; // fresh ports for both
      throw e;
    }
  }
}

async function launchDaprApp(opts: DaprAppOptions): Promise<DaprApp> {
  const { protocol, appId, subscribe, maxBodySizeMb, ...sidecar } = opts;
  const appPort = await freePort();
  const sc = await startSidecar({
    ...sidecar,
    appId,
    wait: false,
    args: ['--app-port', String(appPort), '--app-protocol', protocol, '--dapr-graceful-shutdown-seconds', '1', ...(opts.args ?? [])],
  });
  const server = new DaprServer({
    serverHost: '127.0.0.1',
    serverPort: String(appPort),
    communicationProtocol: sdkProtocol(protocol),
    ...(maxBodySizeMb !== undefined && { maxBodySizeMb }),
    clientOptions: clientOptions(sc, protocol, maxBodySizeMb),
    logger: quietLogger,
  });
  const stop = async () => {
    // The sidecar first: it holds connections into the app that would keep the app server open.
    await sc.stop();
    await server.stop().catch(() => undefined);
    await server.client.stop().catch(() => undefined);
  };
  try {
    await subscribe(server);
    await whileRunning(sc, server.start());
    await waitHealthy(sc);
  } catch (e) {
    await stop();
    throw e;
  }
  return { sc, server, stop };
}

/** The path the SDK gives a route of a topic (its subscriptionManager.generatePubSubPath). */
export const sdkRoutePath = (topic: string, route: string): string => `/${PUBSUB}--${topic.replace(/[^a-zA-Z0-9-]/g, '-').toLowerCase()}--${route}`;

/** GET /v1.0/metadata's subscriptions. */
export async function httpSubscriptions(sc: Sidecar): Promise<Record<string, unknown>[]> {
  const r = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/metadata`);
  return ((await r.json()) as { subscriptions?: Record<string, unknown>[] }).subscriptions ?? [];
}

const { SUCCESS, RETRY, DROP } = DaprPubSubStatusEnum;

/** RETRY for the first `times` deliveries of the same data, then SUCCESS. */
const retryFirst = (times: number): Respond => (_d, nth) => (nth <= times ? RETRY : SUCCESS);

/**
 * A barrier for "never redelivered": an event that needs two redeliveries. Once its third
 * delivery arrived, two redelivery rounds passed, so an earlier event the broker was going to
 * redeliver would have been redelivered by then.
 */
const BARRIER = { kind: 'barrier' };
const isBarrier = (d: unknown) => JSON.stringify(d) === JSON.stringify(BARRIER);

/** Topics of one publishing client, unique per run. */
function topicsFor(run: string, client: AppProtocol) {
  const t = (name: string) => `compat-ps-${run}-${client}-${name}`;
  return {
    basic: t('basic'),
    raw: t('raw'),
    retry: t('retry'),
    drop: t('drop'),
    dead: t('dead'),
    throws: t('throws'),
    routed: t('routed'),
    bulkPub: t('bulkpub'),
    bulkSub: t('bulksub'),
  };
}

type Topics = ReturnType<typeof topicsFor>;

async function subscribeAll(server: DaprServer, topics: Topics, inbox: Inbox): Promise<void> {
  const ps = server.pubsub;
  await ps.subscribe(PUBSUB, topics.basic, inbox.handler(topics.basic));
  // The SDK sends each metadata value through JSON.stringify: `true` arrives as "true".
  await ps.subscribeWithOptions(PUBSUB, topics.raw, { callback: inbox.handler(topics.raw), metadata: { rawPayload: true } });
  await ps.subscribe(PUBSUB, topics.retry, inbox.handler(topics.retry, retryFirst(1)));
  await ps.subscribeWithOptions(PUBSUB, topics.drop, {
    callback: inbox.handler(topics.drop, (d, nth) => (isBarrier(d) ? retryFirst(2)(d, nth) : DROP)),
    deadLetterTopic: topics.dead,
  });
  await ps.subscribe(PUBSUB, topics.dead, inbox.handler(topics.dead));
  await ps.subscribe(
    PUBSUB,
    topics.throws,
    inbox.handler(topics.throws, (d, nth) => {
      if (isBarrier(d)) return retryFirst(2)(d, nth);
      throw new Error('handler failed');
    }),
  );
  // Routes only; a handler per route.
  await ps.subscribeWithOptions(PUBSUB, topics.routed, { route: { rules: [{ match: 'event.type == "x"', path: '/x' }], default: '/d' } });
  ps.subscribeToRoute(PUBSUB, topics.routed, '/x', inbox.handler(`${topics.routed}/x`));
  ps.subscribeToRoute(PUBSUB, topics.routed, '/d', inbox.handler(`${topics.routed}/d`));
  await ps.subscribe(PUBSUB, topics.bulkPub, inbox.handler(topics.bulkPub));
  await ps.subscribeBulk(PUBSUB, topics.bulkSub, inbox.handler(topics.bulkSub), { maxMessagesCount: 10, maxAwaitDurationMs: 100 });
}

const CLIENTS: AppProtocol[] = ['http', 'grpc'];

export interface SdkCasesOptions {
  /** The app's protocol: the DaprServer's and --app-protocol. */
  app: AppProtocol;
  backend: PubSubBackend;
  /** Cases of the calling suite that need the same app (metadata listing, errors); undefined when the backend is down. */
  extra?: (ctx: () => SdkCasesContext | undefined) => void;
}

export interface SdkCasesContext {
  app: DaprApp;
  appId: string;
  clients: Record<AppProtocol, DaprClient>;
  inbox: Inbox;
  topics: Record<AppProtocol, Topics>;
}

/**
 * Delivery cases against one DaprServer app, published by both SDK clients: data of a JSON
 * object, a string and a raw payload; RETRY, DROP with a dead-letter topic, a throwing handler;
 * routing rules; bulk publish and bulk subscribe. Runs inside the caller's describe.
 */
export function sdkDeliveryCases(opts: SdkCasesOptions): void {
  const run = uniqueRun();
  const appId = `ps-${opts.app}-app-${run}`;
  const inbox = new Inbox();
  const topics = { http: topicsFor(run, 'http'), grpc: topicsFor(run, 'grpc') };
  let enabled = false;
  let ctx: SdkCasesContext | undefined;
  const it_ = (name: string, fn: () => Promise<void>) => it(name, async () => (enabled ? fn() : undefined));

  beforeAll(async () => {
    enabled = await opts.backend.reachable();
    if (!enabled) return;
    const app = await startDaprApp({
      protocol: opts.app,
      appId,
      resources: { 'pubsub.yaml': pubsubYaml(opts.backend) },
      subscribe: async (server) => {
        for (const c of CLIENTS) await subscribeAll(server, topics[c], inbox);
      },
    });
    const clients = { http: sdkClient(app.sc, 'http'), grpc: sdkClient(app.sc, 'grpc') };
    ctx = { app, appId, clients, inbox, topics };
  });

  afterAll(async () => {
    if (!ctx) return;
    await Promise.all(CLIENTS.map((c) => ctx!.clients[c].stop().catch(() => undefined)));
    await ctx.app.stop();
  });

  describe.each(CLIENTS)('published by the %s DaprClient', (c) => {
    const t = topics[c];
    const publish = (topic: string, data: object | string, options?: { metadata?: Record<string, string>; contentType?: string }) =>
      ctx!.clients[c].pubsub.publish(PUBSUB, topic, data, options);

    it_('a JSON object and a string reach the handler as the data, with pubsubname and traceparent', async () => {
      expect(await publish(t.basic, { order: 1, item: 'book' })).toEqual({});
      expect(await publish(t.basic, 'plain text')).toEqual({});
      await inbox.waitFor(t.basic, { order: 1, item: 'book' });
      await inbox.waitFor(t.basic, 'plain text');
      for (const d of inbox.get(t.basic)) {
        expect(d.headers).toMatchObject({ pubsubname: PUBSUB, traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/) });
      }
    });

    it_('metadata rawPayload=true publishes the bytes as they are; a rawPayload subscription hands them over', async () => {
      await publish(t.raw, { raw: true, n: 7 }, { metadata: { rawPayload: 'true' } });
      await publish(t.raw, 'raw text', { metadata: { rawPayload: 'true' } });
      await inbox.waitFor(t.raw, { raw: true, n: 7 });
      await inbox.waitFor(t.raw, 'raw text');
    });

    it_('RETRY redelivers the event; SUCCESS then acknowledges it', async () => {
      await publish(t.retry, { attempt: 'again' });
      await inbox.waitFor(t.retry, { attempt: 'again' }, 2);
    });

    it_('DROP is never redelivered and goes to the deadLetterTopic, which its own subscription receives', async () => {
      await publish(t.drop, { fate: 'dropped' });
      await inbox.waitFor(t.dead, { fate: 'dropped' });
      await publish(t.drop, BARRIER);
      await inbox.waitFor(t.drop, BARRIER, 3);
      expect(inbox.count(t.drop, { fate: 'dropped' })).toBe(1);
      expect(inbox.count(t.dead, { fate: 'dropped' })).toBe(1);
      expect(inbox.count(t.dead, BARRIER)).toBe(0);
    });

    it_('a handler that throws is acknowledged by the SDK (its callbacks default to SUCCESS): not redelivered', async () => {
      await publish(t.throws, { boom: 1 });
      await inbox.waitFor(t.throws, { boom: 1 });
      await publish(t.throws, BARRIER);
      await inbox.waitFor(t.throws, BARRIER, 3);
      expect(inbox.count(t.throws, { boom: 1 })).toBe(1);
    });

    it_('routing rules: cloudevent.type "x" reaches the /x route, anything else the default', async () => {
      await publish(t.routed, { to: 'x' }, { metadata: { 'cloudevent.type': 'x' } });
      await publish(t.routed, { to: 'default' });
      await publish(t.routed, { to: 'default-too' }, { metadata: { 'cloudevent.type': 'y' } });
      await inbox.waitFor(`${t.routed}/x`, { to: 'x' });
      await inbox.waitFor(`${t.routed}/d`, { to: 'default' });
      await inbox.waitFor(`${t.routed}/d`, { to: 'default-too' });
      expect(inbox.get(`${t.routed}/x`)).toHaveLength(1);
      expect(inbox.get(`${t.routed}/d`)).toHaveLength(2);
    });

    const entries = [{ entry: 1 }, { entry: 2, nested: { ok: true } }, 'entry three', { entry: 4 }, 'entry five'];

    it_('publishBulk: every entry is delivered', async () => {
      expect(await ctx!.clients[c].pubsub.publishBulk(PUBSUB, t.bulkPub, entries)).toEqual({ failedMessages: [] });
      for (const e of entries) await inbox.waitFor(t.bulkPub, e);
      expect(inbox.get(t.bulkPub)).toHaveLength(entries.length);
    });

    it_('subscribeBulk: the handler gets every entry of a bulk publish', async () => {
      expect(await ctx!.clients[c].pubsub.publishBulk(PUBSUB, t.bulkSub, entries)).toEqual({ failedMessages: [] });
      for (const e of entries) await inbox.waitFor(t.bulkSub, e);
      expect(inbox.get(t.bulkSub)).toHaveLength(entries.length);
    });
  });

  opts.extra?.(() => ctx);
}

/**
 * Redis (a real broker): two instances (two sidecars, two DaprServers) of one app id share the
 * events, each delivered once across both; an app with another id gets every event too.
 */
export function sharedBrokerCases(opts: { app: AppProtocol; backend: PubSubBackend }): void {
  const run = uniqueRun();
  const topic = `compat-ps-${run}-shared`;
  const inbox = new Inbox();
  const apps: DaprApp[] = [];
  let client: DaprClient | undefined;
  let enabled = false;

  beforeAll(async () => {
    enabled = await opts.backend.reachable();
    if (!enabled) return;
    const instances = [`ps-shared-${run}#1`, `ps-shared-${run}#2`, `ps-other-${run}`];
    for (const key of instances) {
      apps.push(
        await startDaprApp({
          protocol: opts.app,
          appId: key.split('#')[0]!,
          resources: { 'pubsub.yaml': pubsubYaml(opts.backend) },
          subscribe: (server) => server.pubsub.subscribe(PUBSUB, topic, inbox.handler(key)),
        }),
      );
    }
    client = sdkClient(apps[0]!.sc, opts.app);
  });

  afterAll(async () => {
    await client?.stop().catch(() => undefined);
    await Promise.all(apps.map((a) => a.stop()));
  });

  it('two instances of one app id share the events; another app id gets them all', async () => {
    if (!enabled) return;
    const events = Array.from({ length: 12 }, (_, i) => ({ seq: i }));
    for (const e of events) await client!.pubsub.publish(PUBSUB, topic, e);
    const shared = () => [...inbox.get(`ps-shared-${run}#1`), ...inbox.get(`ps-shared-${run}#2`)];
    await until(() => shared().length >= events.length, () => `${events.length} events across both instances, got ${shared().length}`);
    await inbox.wait(`ps-other-${run}`, events.length);
    const seqs = (ds: Delivery[]) => ds.map((d) => (d.data as { seq: number }).seq).sort((a, b) => a - b);
    expect(seqs(shared())).toEqual(events.map((e) => e.seq));
    expect(seqs(inbox.get(`ps-other-${run}`))).toEqual(events.map((e) => e.seq));
    expect(inbox.get(`ps-shared-${run}#1`).length).toBeGreaterThan(0);
    expect(inbox.get(`ps-shared-${run}#2`).length).toBeGreaterThan(0);
  });
}

// Used by layotto-sdk/pubsub, dapr-grpc/pubsub-streaming and runtime/pubsub-delivery (another
// engineer's suites): please keep these exports when editing this file.

/** A topic name no other run (or earlier test of this run) has used. */
export const uniqueTopic = (name: string): string => `${name}-${Date.now().toString(36)}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

export interface HttpPublishOptions {
  /** Default application/json. */
  contentType?: string;
  /** Sent as `metadata.<key>` query parameters. */
  metadata?: Record<string, string>;
  headers?: Record<string, string>;
}

/** POST /v1.0/publish/<pubsub>/<topic> on the Dapr HTTP API; resolves with the status and body text. */
export async function publishHttp(sc: Sidecar, pubsub: string, topic: string, body: string | Buffer, opts: HttpPublishOptions = {}): Promise<{ status: number; text: string }> {
  const query = new URLSearchParams(Object.entries(opts.metadata ?? {}).map(([k, v]): [string, string] => [`metadata.${k}`, v])).toString();
  const url = `http://127.0.0.1:${sc.httpPort}/v1.0/publish/${pubsub}/${topic}${query ? `?${query}` : ''}`;
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': opts.contentType ?? 'application/json', ...opts.headers } });
  return { status: res.status, text: await res.text() };
}
