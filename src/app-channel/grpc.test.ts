// The gRPC app channel against real app servers on loopback: the @dapr/dapr SDK's DaprServer
// (gRPC, only its app server started: no sidecar needed) for Dapr's AppCallback, and the layotto
// SDK's Server for Layotto's AppCallback (detection falls back to it).
import * as grpc from '@grpc/grpc-js';
import * as net from 'node:net';
import { CommunicationProtocolEnum, DaprPubSubStatusEnum, DaprServer, LogLevel } from '@dapr/dapr';
import { Server as LayottoServer } from 'layotto';
import { sampleCloudEvent, sampleTopicEvent } from '../../test/app-events';
import { GrpcAppChannel } from './grpc';
import type { AppBulkEvent, AppTopicEvent } from './types';

const quiet = { error() {}, warn() {}, info() {}, verbose() {}, debug() {} };

const ce = (over: Record<string, unknown> = {}) => sampleCloudEvent({ time: '2024-01-01T00:00:00Z', ...over });

const event = (topic: string, path: string, over: Partial<AppTopicEvent> = {}): AppTopicEvent =>
  sampleTopicEvent({ cloudEvent: ce({ topic }), topic, path, ...over });

type Headers = Record<string, string>;
interface Received {
  data: unknown;
  headers: Headers;
}

describe('Dapr AppCallback (@dapr/dapr DaprServer as the app)', () => {
  let app: DaprServer;
  let channel: GrpcAppChannel;
  const received: Record<string, Received[]> = { ok: [], retry: [], drop: [], throws: [], bulk: [] };
  const record = (name: string, status?: DaprPubSubStatusEnum) => async (data: unknown, headers: unknown) => {
    received[name]!.push({ data, headers: headers as Headers });
    if (name === 'throws') throw new Error('handler failed');
    return status;
  };

  beforeAll(async () => {
    app = new DaprServer({
      serverHost: '127.0.0.1',
      serverPort: '0',
      communicationProtocol: CommunicationProtocolEnum.GRPC,
      logger: { level: LogLevel.Error, service: quiet },
    });
    await app.pubsub.subscribe('ps', 'ok', record('ok'));
    await app.pubsub.subscribe('ps', 'retry', record('retry', DaprPubSubStatusEnum.RETRY));
    await app.pubsub.subscribe('ps', 'drop', record('drop', DaprPubSubStatusEnum.DROP));
    await app.pubsub.subscribe('ps', 'throws', record('throws'));
    await app.pubsub.subscribeWithOptions('ps', 'routed', {
      route: { rules: [{ match: 'event.type == "widget"', path: 'widgets' }], default: 'others' },
      deadLetterTopic: 'dead',
      metadata: { rawPayload: true },
      callback: record('ok'),
    });
    await app.pubsub.subscribeBulk('ps', 'bulk', record('bulk'), { maxMessagesCount: 10, maxAwaitDurationMs: 250 });
    // Only the app server: DaprServer.start() would also wait for a sidecar.
    await app.daprServer.start('127.0.0.1', '0');
    const port = ((app.daprServer as unknown as { server: net.Server }).server.address() as net.AddressInfo).port;
    channel = new GrpcAppChannel({ address: '127.0.0.1', port, protocol: 'grpc', appId: 'sub-app', appApiToken: 'app-secret' });
  });

  afterAll(async () => {
    await channel.close();
    await app.daprServer.stop();
  });

  test('listSubscriptions reads routes, dead letter topic, metadata and bulkSubscribe; kind is grpc', async () => {
    const subs = await channel.listSubscriptions();
    expect(channel.kind).toBe('grpc');
    const byTopic = Object.fromEntries(subs.map((s) => [s.topic, s]));
    expect(Object.keys(byTopic).sort()).toEqual(['bulk', 'drop', 'ok', 'retry', 'routed', 'throws']);
    expect(byTopic.ok).toEqual({ pubsubName: 'ps', topic: 'ok', metadata: {}, rules: [], defaultRoute: '/ps--ok--default', deadLetterTopic: '' });
    expect(byTopic.routed).toEqual({
      pubsubName: 'ps',
      topic: 'routed',
      metadata: { rawPayload: 'true' }, // the SDK JSON-encodes metadata values
      rules: [{ match: 'event.type == "widget"', path: '/ps--routed--widgets' }],
      defaultRoute: '/ps--routed--others',
      deadLetterTopic: 'dead',
    });
    expect(byTopic.bulk!.bulkSubscribe).toEqual({ enabled: true, maxMessagesCount: 10, maxAwaitDurationMs: 250 });
  });

  test('deliverEvent → SUCCESS; the handler gets the data and the broker metadata, pubsubname, trace and token as call metadata', async () => {
    expect(await channel.deliverEvent(event('ok', '/ps--ok--default'))).toBe('SUCCESS');
    const got = received.ok!.at(-1)!;
    expect(got.data).toEqual({ n: 1 });
    expect(got.headers['x-broker']).toBe('b1');
    expect(got.headers.pubsubname).toBe('ps');
    expect(got.headers.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(got.headers['dapr-api-token']).toBe('app-secret');
  });

  test('the handler status comes back: RETRY and DROP', async () => {
    expect(await channel.deliverEvent(event('retry', '/ps--retry--default'))).toBe('RETRY');
    expect(await channel.deliverEvent(event('drop', '/ps--drop--default'))).toBe('DROP');
    expect(received.retry).toHaveLength(1);
    expect(received.drop).toHaveLength(1);
  });

  test('a handler that throws: the SDK logs it and answers SUCCESS (it only retries when the handler returns RETRY)', async () => {
    expect(await channel.deliverEvent(event('throws', '/ps--throws--default'))).toBe('SUCCESS');
    expect(received.throws).toHaveLength(1);
  });

  test('deliverBulk: OnBulkTopicEvent is UNIMPLEMENTED in the SDK, so OnBulkTopicEventAlpha1 answers per entry', async () => {
    const bulk: AppBulkEvent = {
      id: 'b-1',
      pubsubName: 'ps',
      topic: 'bulk',
      path: '/ps--bulk--default',
      metadata: {},
      entries: [
        { entryId: 'e1', event: ce({ data: { k: 'v' } }), contentType: 'application/cloudevents+json', metadata: {} },
        { entryId: 'e2', event: Buffer.from('"raw"'), contentType: 'application/json', metadata: {} },
      ],
    };
    for (let i = 0; i < 2; i++) {
      const res = await channel.deliverBulk(bulk);
      expect([...res]).toEqual([['e1', 'SUCCESS'], ['e2', 'SUCCESS']]);
    }
    expect(received.bulk!.map((r) => r.data)).toEqual([{ k: 'v' }, 'raw', { k: 'v' }, 'raw']);
  });
});

/** A port free right now on loopback (the layotto Server binds a fixed port and does not report it). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe("Layotto AppCallback (the layotto SDK's Server as the app)", () => {
  let app: LayottoServer;
  let port: number;
  let channel: GrpcAppChannel;
  const got: { data: unknown; req: Record<string, unknown> }[] = [];

  beforeAll(async () => {
    port = await freePort();
    app = new LayottoServer(String(port), undefined, { logger: quiet as never });
    app.pubsub.subscribe('ps', 'orders', async (data: unknown, req: unknown) => {
      got.push({ data, req: req as Record<string, unknown> });
    });
    app.pubsub.addPubSubSubscription('ps', 'orders', { k: 'v' });
    app.pubsub.subscribe('ps', 'fails', async () => {
      throw new Error('handler failed');
    });
    app.pubsub.addPubSubSubscription('ps', 'fails');
    await app.start();
    channel = new GrpcAppChannel({ address: '127.0.0.1', port, protocol: 'grpc', appId: 'sub-app' });
  });

  afterAll(async () => {
    await channel.close();
    await app.close();
  });

  test('before detection a Dapr OnTopicEvent goes unanswered: UNIMPLEMENTED → DROP (bulk too)', async () => {
    const fresh = new GrpcAppChannel({ address: '127.0.0.1', port, protocol: 'grpc', appId: 'sub-app' });
    try {
      expect(fresh.kind).toBe('grpc');
      expect(await fresh.deliverEvent(event('orders', ''))).toBe('DROP');
      const res = await fresh.deliverBulk({ id: 'b', pubsubName: 'ps', topic: 'orders', path: '', metadata: {}, entries: [{ entryId: 'e1', event: ce(), contentType: '', metadata: {} }] });
      expect([...res]).toEqual([['e1', 'DROP']]);
    } finally {
      await fresh.close();
    }
  });

  test("Dapr's ListTopicSubscriptions is UNIMPLEMENTED, so Layotto's answers; kind becomes layotto", async () => {
    const subs = await channel.listSubscriptions();
    expect(channel.kind).toBe('layotto');
    expect(subs).toEqual([
      { pubsubName: 'ps', topic: 'orders', metadata: { k: 'v' }, rules: [{ match: '', path: '' }], defaultRoute: '', deadLetterTopic: '' },
      { pubsubName: 'ps', topic: 'fails', metadata: {}, rules: [{ match: '', path: '' }], defaultRoute: '', deadLetterTopic: '' },
    ]);
  });

  test("deliverEvent uses Layotto's OnTopicEvent: SUCCESS, a throwing handler RETRY, an unknown topic DROP", async () => {
    expect(await channel.deliverEvent(event('orders', ''))).toBe('SUCCESS');
    const last = got.at(-1)!;
    expect(last.data).toEqual({ n: 1 });
    expect(last.req).toMatchObject({ id: 'ev-1', source: 'pub-app', specVersion: '1.0', dataContentType: 'application/json', topic: 'orders', pubsubName: 'ps', metadata: { 'x-broker': 'b1' } });
    expect(await channel.deliverEvent(event('fails', ''))).toBe('RETRY');
    expect(await channel.deliverEvent(event('nobody', ''))).toBe('DROP');
  });

  test('deliverBulk: entries go one by one through OnTopicEvent', async () => {
    const before = got.length;
    const res = await channel.deliverBulk({
      id: 'b',
      pubsubName: 'ps',
      topic: 'orders',
      path: '',
      metadata: { shared: 's' },
      entries: [
        { entryId: 'e1', event: ce({ id: 'c1', data: { a: 1 } }), contentType: '', metadata: { own: 'o' } },
        { entryId: 'e2', event: Buffer.from('bytes'), contentType: 'text/plain', metadata: {} },
      ],
    });
    expect([...res]).toEqual([['e1', 'SUCCESS'], ['e2', 'SUCCESS']]);
    const [a, b] = got.slice(before);
    expect(a!.data).toEqual({ a: 1 });
    expect(a!.req).toMatchObject({ id: 'c1', metadata: { shared: 's', own: 'o' } });
    expect(Buffer.from(b!.data as Uint8Array).toString()).toBe('bytes');
    expect(b!.req).toMatchObject({ id: 'e2', dataContentType: 'text/plain' });
  });
});

describe('other gRPC apps', () => {
  test('an app with neither ListTopicSubscriptions → [] and kind grpc', async () => {
    const server = new grpc.Server();
    const port = await new Promise<number>((res, rej) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
    );
    const channel = new GrpcAppChannel({ address: '127.0.0.1', port, protocol: 'grpc', appId: 'a' });
    try {
      expect(await channel.listSubscriptions()).toEqual([]);
      expect(channel.kind).toBe('grpc');
    } finally {
      await channel.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    }
  });

  test('an app that is not listening: listSubscriptions and deliverEvent reject with UNAVAILABLE', async () => {
    const channel = new GrpcAppChannel({ address: '127.0.0.1', port: await freePort(), protocol: 'grpc', appId: 'a' });
    try {
      await expect(channel.listSubscriptions()).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      await expect(channel.deliverEvent(event('t', ''))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    } finally {
      await channel.close();
    }
  });
});
