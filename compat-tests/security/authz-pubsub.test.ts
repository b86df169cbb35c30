// Pub/sub authorization on the built sidecar, on pubsub.in-memory and on Redis Streams: component
// metadata allowedTopics / publishingScopes / subscriptionScopes / protectedTopics and component
// scopes. Publishing through the real @dapr/dapr DaprClient (HTTP and gRPC, single and bulk), the
// Layotto SDK's Client and the Dapr HTTP API; subscriptions programmatic (the app's
// /dapr/subscribe), declarative (Subscription resources) and streaming (SubscribeTopicEventsAlpha1).
// A subscription the scopes forbid is skipped with a log line and receives nothing.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { DaprClient } from '@dapr/dapr';
import { Redis } from 'ioredis';
import { daprClientConstructor } from '../../src/api/dapr-grpc/protos';
import { PUBSUB_BACKENDS, type PubSubBackend, pubsubRegistered, publishHttp, sdkClient, until } from '../helpers/pubsub';
import { uniqueRun } from '../helpers/lock-backends';
import { componentYaml, type Sidecar, startSidecar, waitHealthy } from '../helpers/sidecar';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Client: LayottoClient } = require('layotto') as typeof import('layotto');

const APP = 'authz-ps';
const PERMISSION_DENIED = 7;

/** An HTTP app: lists programmatic subscriptions and records what each route receives. */
class App {
  readonly got = new Map<string, unknown[]>();
  private server?: Server;
  port = 0;

  constructor(private readonly subscriptions: object[]) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        if (req.url === '/dapr/subscribe') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.subscriptions));
        if (req.method !== 'POST') return res.writeHead(404).end();
        const event = JSON.parse(body || '{}') as { data?: unknown };
        this.got.set(req.url!, [...(this.got.get(req.url!) ?? []), event.data]);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"SUCCESS"}');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server!.address() as AddressInfo).port;
    return this;
  }

  on(route: string): unknown[] {
    return this.got.get(route) ?? [];
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** How the DaprClient reported a failed publish: the HTTP status and body, or the gRPC code and message. */
async function publishFailure(client: DaprClient, protocol: 'http' | 'grpc', pubsub: string, topic: string): Promise<{ status?: number; body?: unknown; code?: number; message: string }> {
  if (protocol === 'http') {
    const out = (await client.pubsub.publish(pubsub, topic, { n: 1 })) as { error?: Error };
    if (!out.error) throw new Error(`publishing to ${pubsub}/${topic} succeeded`);
    const e = JSON.parse(out.error.message) as { status: number; error_msg: string };
    return { status: e.status, body: JSON.parse(e.error_msg), message: e.error_msg };
  }
  const thrown = await client.pubsub.publish(pubsub, topic, { n: 1 }).then(
    () => undefined,
    (x: { error: { code: number; rawMessage: string } }) => x.error,
  );
  if (!thrown) throw new Error(`publishing to ${pubsub}/${topic} succeeded`);
  return { code: thrown.code, message: thrown.rawMessage };
}

const forbidden = (topic: string) => `topic ${topic} is not allowed for app id ${APP}`;

describe.each(PUBSUB_BACKENDS.filter((b) => pubsubRegistered(b.type)).map((b) => [b.type, b] as [string, PubSubBackend]))('pub/sub authorization on %s', (_type, backend) => {
  const run = uniqueRun();
  const t = (name: string) => `authz-${run}-${name}`;
  const T = { open: t('open'), pubOnly: t('pub-only'), subOnly: t('sub-only'), prot: t('prot'), declOk: t('decl-ok'), declDenied: t('decl-denied'), unlisted: t('unlisted'), bulk: t('bulk') };
  // allowedTopics gate everything; APP may publish all but subOnly, and subscribe to open, subOnly and declOk; prot is protected.
  const scoped = componentYaml('scoped', backend.type, {
    ...backend.metadata,
    allowedTopics: [T.open, T.pubOnly, T.subOnly, T.prot, T.declOk, T.declDenied, T.bulk].join(','),
    publishingScopes: `${APP}=${[T.open, T.pubOnly, T.prot, T.declOk, T.declDenied, T.bulk].join(', ')};someone-else=${T.subOnly}`,
    subscriptionScopes: `${APP}=${T.open},${T.subOnly},${T.declOk}`,
    protectedTopics: T.prot,
  });
  const locked = componentYaml('locked', backend.type, { ...backend.metadata, protectedTopics: t('secret') });
  const mute = componentYaml('mute', backend.type, { ...backend.metadata, publishingScopes: `${APP}=;other=${t('x')}` });
  const foreign = componentYaml('foreign', backend.type, backend.metadata, 'scopes:\n- someone-else\n');
  const subscription = (name: string, topic: string, route: string) =>
    `apiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata:\n  name: ${name}\nspec:\n  pubsubname: scoped\n  topic: ${topic}\n  routes:\n    default: ${route}\nscopes:\n- ${APP}\n`;

  const app = new App([
    { pubsubname: 'scoped', topic: T.open, route: '/open' },
    { pubsubname: 'scoped', topic: T.pubOnly, route: '/pub-only' },
    { pubsubname: 'scoped', topic: T.prot, route: '/prot' },
    { pubsubname: 'locked', topic: t('secret'), route: '/secret' },
  ]);
  let enabled = false;
  let sc: Sidecar;
  const clients: Partial<Record<'http' | 'grpc', DaprClient>> = {};
  let layotto: InstanceType<typeof LayottoClient>;

  beforeAll(async () => {
    enabled = await backend.reachable();
    if (!enabled) return;
    await app.start();
    sc = await startSidecar({
      appId: APP,
      wait: false,
      args: ['--app-port', String(app.port)],
      resources: {
        'scoped.yaml': scoped,
        'locked.yaml': locked,
        'mute.yaml': mute,
        'foreign.yaml': foreign,
        'subs.yaml': [subscription('decl-ok', T.declOk, '/decl-ok'), subscription('decl-denied', T.declDenied, '/decl-denied')].join('---\n'),
      },
    });
    await waitHealthy(sc, 60_000); // a busy machine may take longer than the helper's default 20 s
    clients.http = sdkClient(sc, 'http');
    clients.grpc = sdkClient(sc, 'grpc');
    layotto = new LayottoClient(String(sc.layottoPort), '127.0.0.1');
  }, 90_000);

  afterAll(async () => {
    layotto?.close();
    await Promise.all(Object.values(clients).map((c) => c.stop().catch(() => undefined)));
    await sc?.stop();
    await app.stop();
  });

  const it_ = (name: string, fn: () => Promise<void>) => it(name, async () => (enabled ? fn() : undefined));

  describe.each(['http', 'grpc'] as const)('DaprClient over %s', (protocol) => {
    it_('publishes to the topics its scope allows', async () => {
      for (const topic of [T.open, T.pubOnly, T.prot, T.declOk]) expect(await clients[protocol]!.pubsub.publish('scoped', topic, { n: 1 })).toEqual({});
      expect(await clients[protocol]!.pubsub.publish('locked', t('free'), { n: 1 })).toEqual({});
    });

    it_('a topic outside its publishing scope, outside allowedTopics, protected without a scope, or any topic of an empty scope: 403 ERR_PUBSUB_FORBIDDEN / PermissionDenied', async () => {
      const cases: [string, string][] = [
        ['scoped', T.subOnly],
        ['scoped', T.unlisted],
        ['locked', t('secret')],
        ['mute', t('x')],
        ['mute', t('anything')],
      ];
      for (const [pubsub, topic] of cases) {
        const got = await publishFailure(clients[protocol]!, protocol, pubsub, topic);
        if (protocol === 'http') {
          expect(got.status).toBe(403);
          expect(got.body).toMatchObject({ errorCode: 'ERR_PUBSUB_FORBIDDEN', message: forbidden(topic) });
        } else {
          expect([got.code, got.message]).toEqual([PERMISSION_DENIED, forbidden(topic)]);
        }
      }
    });

    it_('bulk publish follows the same rule: every entry fails on a forbidden topic', async () => {
      expect(await clients[protocol]!.pubsub.publishBulk('scoped', T.bulk, [{ a: 1 }, { a: 2 }])).toEqual({ failedMessages: [] });
      const out = await clients[protocol]!.pubsub.publishBulk('scoped', T.subOnly, [{ a: 1 }, { a: 2 }]);
      expect(out.failedMessages).toHaveLength(2);
      const error = out.failedMessages[0]!.error as { message?: string; rawMessage?: string; code?: number };
      expect(error.rawMessage ?? error.message).toContain(forbidden(T.subOnly));
    });

    it_('a component scoped to another app is absent: ERR_PUBSUB_NOT_FOUND', async () => {
      const got = await publishFailure(clients[protocol]!, protocol, 'foreign', T.open);
      if (protocol === 'http') expect([got.status, (got.body as { errorCode: string }).errorCode]).toEqual([404, 'ERR_PUBSUB_NOT_FOUND']);
      else expect(got.code).toBe(3);
    });
  });

  it_('the Dapr HTTP API answers daprd\'s body for a forbidden publish and bulk publish', async () => {
    const single = await publishHttp(sc, 'scoped', T.unlisted, '{"n":1}');
    expect(single.status).toBe(403);
    expect(JSON.parse(single.text)).toMatchObject({ errorCode: 'ERR_PUBSUB_FORBIDDEN', message: forbidden(T.unlisted) });
    const bulk = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0-alpha1/publish/bulk/mute/${t('y')}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ entryId: '1', event: { a: 1 }, contentType: 'application/json' }]),
    });
    expect(bulk.status).toBe(403);
    expect(await bulk.json()).toMatchObject({ errorCode: 'ERR_PUBSUB_FORBIDDEN', message: forbidden(t('y')) });
  });

  it_('the Layotto SDK Client: allowed topics publish, forbidden ones fail PermissionDenied with the same message', async () => {
    await layotto.pubsub.publish({ pubsubName: 'scoped', topic: T.open, data: { via: 'layotto' } });
    for (const [pubsub, topic] of [
      ['scoped', T.subOnly],
      ['locked', t('secret')],
      ['mute', t('z')],
    ] as const) {
      const e = (await layotto.pubsub.publish({ pubsubName: pubsub, topic, data: { n: 1 } }).catch((x: unknown) => x)) as grpc.ServiceError;
      expect([e.code, e.details]).toEqual([PERMISSION_DENIED, forbidden(topic)]);
    }
  });

  it_('subscriptions inside the subscription scope receive; programmatic and declarative ones outside it are skipped with a log line and receive nothing', async () => {
    const publish = (topic: string, data: object) => clients.http!.pubsub.publish('scoped', topic, data);
    for (const topic of [T.pubOnly, T.prot, T.declDenied]) await publish(topic, { to: topic });
    await publish(T.open, { to: 'open' });
    await publish(T.declOk, { to: 'decl-ok' });
    await until(() => app.on('/open').some((d) => JSON.stringify(d) === '{"to":"open"}') && app.on('/decl-ok').length > 0, () => `deliveries on /open and /decl-ok: ${JSON.stringify([...app.got])}`);
    for (const topic of [T.pubOnly, T.prot, T.declDenied]) {
      expect(sc.output()).toContain(`subscription to topic '${topic}' on pubsub 'scoped' is not allowed for app id ${APP}`);
    }
    // A protected topic with no scope naming the app: no subscription either.
    expect(sc.output()).toContain(`subscription to topic '${t('secret')}' on pubsub 'locked' is not allowed for app id ${APP}`);
    for (const route of ['/pub-only', '/prot', '/decl-denied', '/secret']) expect(app.on(route)).toEqual([]);
    if (backend.type === 'pubsub.redis') {
      // The broker's side: a consumer group for the app on the subscribed streams only.
      const redis = new Redis(6379, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        const groups = async (topic: string) => ((await redis.call('XINFO', 'GROUPS', topic).catch(() => [])) as unknown[][]).map((g) => g[1]);
        expect(await groups(T.open)).toContain(APP);
        expect(await groups(T.declOk)).toContain(APP);
        for (const topic of [T.pubOnly, T.prot, T.declDenied]) expect(await groups(topic)).not.toContain(APP);
      } finally {
        redis.disconnect();
      }
    }
  });

  it_('a streaming subscription (SubscribeTopicEventsAlpha1) outside the scope is refused as daprd refuses it; one inside starts', async () => {
    const Dapr = daprClientConstructor();
    const client = new Dapr(`127.0.0.1:${sc.grpcPort}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      SubscribeTopicEventsAlpha1: () => grpc.ClientDuplexStream<object, { initial_response?: object | null }>;
    };
    const open = (topic: string) => {
      const call = client.SubscribeTopicEventsAlpha1();
      const seen: { messages: object[]; error?: grpc.ServiceError } = { messages: [] };
      call.on('data', (m: object) => seen.messages.push(m));
      call.on('error', (e: grpc.ServiceError) => (seen.error = e));
      call.write({ initial_request: { pubsub_name: 'scoped', topic, metadata: {} } });
      return { call, seen };
    };
    try {
      const denied = open(T.pubOnly);
      await until(() => denied.seen.error !== undefined || denied.seen.messages.length > 0, () => 'the refused stream to end');
      expect(denied.seen.messages).toEqual([]);
      expect([denied.seen.error?.code, denied.seen.error?.details]).toEqual([
        grpc.status.UNKNOWN,
        `failed to create subscription for scoped: subscription to topic '${T.pubOnly}' on pubsub 'scoped' is not allowed`,
      ]);
      const allowed = open(T.subOnly);
      await until(() => allowed.seen.messages.length > 0 || allowed.seen.error !== undefined, () => 'initial_response');
      expect(allowed.seen.error).toBeUndefined();
      expect(allowed.seen.messages[0]).toMatchObject({ initial_response: {} });
      allowed.call.end();
    } finally {
      client.close();
    }
  });
});
