// Pub/sub through the real `layotto` Node SDK against the built sidecar on pubsub.in-memory: an app
// on the SDK's `Server` (spec.proto.runtime.v1.AppCallback only) run with --app-protocol grpc. The
// sidecar asks Dapr's AppCallback first, gets UNIMPLEMENTED, falls back to Layotto's
// ListTopicSubscriptions and delivers through OnTopicEvent. Published with the SDK's `Client`
// (Layotto PublishEvent) and, across APIs, through the Dapr HTTP API.
import { freePort, type Sidecar, startSidecar, waitHealthy } from '../helpers/sidecar';
import { httpSubscriptions, PUBSUB, PUBSUB_BACKENDS, pubsubYaml, publishHttp, uniqueTopic, until } from '../helpers/pubsub';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Client, Server } = require('layotto') as typeof import('layotto');

interface Received {
  data: unknown;
  request: { id: string; source: string; type: string; specVersion: string; dataContentType: string; topic: string; pubsubName: string; metadata: Record<string, string> };
}

/** The SDK logs every listing and handler failure; failures are part of the cases here. */
const quiet = { info() {}, warn() {}, error() {} };

describe('Layotto SDK pub/sub: Server app (gRPC AppCallback) + Client publish', () => {
  const topics = { sdk: uniqueTopic('sdk'), flaky: uniqueTopic('flaky'), cross: uniqueTopic('cross') };
  const received = new Map<string, Received[]>(Object.values(topics).map((t) => [t, []]));
  const on = (topic: string) => received.get(topic)!;
  let sc: Sidecar;
  let server: InstanceType<typeof Server>;
  let client: InstanceType<typeof Client>;

  beforeAll(async () => {
    const appPort = await freePort();
    sc = await startSidecar({
      appId: 'layotto-pubsub-app',
      wait: false,
      args: ['--app-port', String(appPort), '--app-protocol', 'grpc'],
      resources: { 'pubsub.yaml': pubsubYaml(PUBSUB_BACKENDS.find((b) => b.type === 'pubsub.in-memory')!) },
    });
    server = new Server(String(appPort), undefined, { logger: quiet });
    for (const topic of Object.values(topics)) {
      // subscribe() registers the handler; addPubSubSubscription() lists it in ListTopicSubscriptions.
      server.pubsub.subscribe(PUBSUB, topic, async (data, request) => {
        on(topic).push({ data, request });
        if (topic === topics.flaky && on(topic).length === 1) throw new Error('not yet');
      });
      server.pubsub.addPubSubSubscription(PUBSUB, topic);
    }
    await server.start();
    await waitHealthy(sc);
    client = new Client(String(sc.layottoPort), '127.0.0.1');
  });

  afterAll(async () => {
    client?.close();
    // The sidecar first: its channel into the app would keep the server's shutdown waiting.
    await sc?.stop();
    await server?.close();
  });

  const waitOn = async (topic: string, n = 1) => {
    await until(() => on(topic).length >= n, () => `${n} deliveries on ${topic}, got ${JSON.stringify(on(topic).map((r) => r.data))}`);
    return on(topic);
  };

  it("the sidecar found the app's subscriptions through Layotto's ListTopicSubscriptions", async () => {
    const listed = (await httpSubscriptions(sc)).filter((s) => Object.values(topics).includes(String(s.topic)));
    expect(listed).toHaveLength(3);
    for (const s of listed) expect(s).toMatchObject({ pubsubname: PUBSUB, type: 'PROGRAMMATIC' });
  });

  it('client.pubsub.publish → the handler gets the data and the CloudEvent attributes', async () => {
    await client.pubsub.publish({ pubsubName: PUBSUB, topic: topics.sdk, data: { hello: 'layotto', n: 1 } });
    const [r] = await waitOn(topics.sdk);
    expect(r!.data).toEqual({ hello: 'layotto', n: 1 });
    expect(r!.request).toMatchObject({ topic: topics.sdk, pubsubName: PUBSUB, specVersion: '1.0', dataContentType: 'application/json', id: expect.any(String) });
    expect(r!.request.id).not.toBe('');
    expect(r!.request.type).not.toBe('');
  });

  it('a handler that throws: the SDK answers RETRY and the event is redelivered with the same id', async () => {
    await client.pubsub.publish({ pubsubName: PUBSUB, topic: topics.flaky, data: { attempt: 'x' } });
    const [first, second] = await waitOn(topics.flaky, 2);
    expect(second!.data).toEqual({ attempt: 'x' });
    expect(second!.request.id).toBe(first!.request.id);
  });

  it('published through the Dapr HTTP API, received by the Layotto app', async () => {
    expect(await publishHttp(sc, PUBSUB, topics.cross, '{"from":"dapr-http"}', { metadata: { 'cloudevent.id': 'cross-1' } })).toEqual({ status: 204, text: '' });
    const [r] = await waitOn(topics.cross);
    expect(r!.data).toEqual({ from: 'dapr-http' });
    expect(r!.request).toMatchObject({ id: 'cross-1', type: 'com.dapr.event.sent', source: 'layotto-pubsub-app', topic: topics.cross, pubsubName: PUBSUB });
  });
});
