// A streaming subscription (Dapr SubscribeTopicEventsAlpha1, no app) across hot reload of its
// pubsub.redis component, on the built binary and a real Redis: an edit that replaces the
// component moves the stream to the new instance (events published before, during and after the
// swap all reach the open call), and deleting the file ends the call with daprd's
// ERR_PUBSUB_NOT_FOUND instead of leaving it open and silent. The @dapr/dapr SDK has no streaming
// subscribe, so the client is grpc-js on the Dapr proto the SDK ships (as pubsub-streaming.test.ts).
import { randomUUID } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { daprClientConstructor } from '../../src/api/dapr-grpc/protos';
import { requireService } from '../../test/services';
import { sleep, until } from '../../test/wait';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';

const PUBSUB = 'hotps';
const FILE = 'pubsub.yaml';
const redisYaml = (maxLenApprox: string) =>
  componentYaml(PUBSUB, 'pubsub.redis', { redisHost: '127.0.0.1:6379', processingTimeout: '1s', redeliverInterval: '200ms', maxLenApprox });

interface StreamResponse {
  initial_response?: object | null;
  event_message?: { id: string; data: Buffer; topic: string } | null;
}

/** One open SubscribeTopicEventsAlpha1 call that acknowledges every event with SUCCESS. */
class EventStream {
  readonly received: string[] = [];
  initialised = false;
  error?: grpc.ServiceError;
  private readonly client: grpc.Client;
  readonly call: grpc.ClientDuplexStream<object, StreamResponse>;

  constructor(sc: Sidecar, topic: string) {
    const Dapr = daprClientConstructor();
    const client = new Dapr(`127.0.0.1:${sc.grpcPort}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      SubscribeTopicEventsAlpha1: () => grpc.ClientDuplexStream<object, StreamResponse>;
    };
    this.client = client;
    this.call = client.SubscribeTopicEventsAlpha1();
    this.call.on('data', (m: StreamResponse) => {
      if (m.initial_response) this.initialised = true;
      const ev = m.event_message;
      if (!ev) return;
      this.received.push(ev.data.toString());
      this.call.write({ event_processed: { id: ev.id, status: { status: 'SUCCESS' } } });
    });
    this.call.on('error', (e: grpc.ServiceError) => (this.error = e));
    this.call.write({ initial_request: { pubsub_name: PUBSUB, topic, metadata: {} } });
  }

  async ready(): Promise<void> {
    await until(() => this.initialised || this.error !== undefined, () => 'initial_response');
    if (this.error) throw this.error;
  }

  async waitFor(values: string[]): Promise<void> {
    await until(() => values.every((v) => this.received.includes(v)) || this.error !== undefined, () => `events ${values.filter((v) => !this.received.includes(v)).join(', ')}; got ${this.received.join(', ')}`);
    if (this.error) throw this.error;
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

let sc: Sidecar;
let redis = false;
const streams: EventStream[] = [];

const publish = async (topic: string, value: string) => {
  const r = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/publish/${PUBSUB}/${topic}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: value });
  if (r.status !== 204) throw new Error(`publish ${value}: ${r.status} ${await r.text()}`);
};
/** Saves the way editors do: a temporary file renamed over the old one. */
function saveResource(content: string): void {
  const tmp = join(sc.resourcesDir!, `.${FILE}.swp`);
  writeFileSync(tmp, content);
  renameSync(tmp, join(sc.resourcesDir!, FILE));
}
const logged = (from: number, text: string) => until(() => sc.output().slice(from).includes(text), () => `log line "${text}"; log since the edit:\n${sc.output().slice(from)}`);
const open = (topic: string) => {
  const s = new EventStream(sc, topic);
  streams.push(s);
  return s;
};

beforeAll(async () => {
  redis = await requireService('redis', '127.0.0.1', 6379);
  if (!redis) return;
  sc = await startSidecar({ appId: `hot-stream-${randomUUID().slice(0, 8)}`, resources: { [FILE]: redisYaml('10000') } });
});

afterAll(async () => {
  for (const s of streams) s.close();
  await sc?.stop();
});

it('an edit that replaces the pubsub moves the stream to the new instance: no event published before, during or after the swap is lost', async () => {
  if (!redis) return;
  const topic = `t-${randomUUID()}`;
  const stream = open(topic);
  await stream.ready();
  await publish(topic, 'before');
  await stream.waitFor(['before']);

  // Publish steadily through the reload, so some events land on each side of the swap.
  const sent: string[] = [];
  let publishing = true;
  const loop = (async () => {
    for (let i = 0; publishing; i++) {
      await publish(topic, `during-${i}`);
      sent.push(`during-${i}`);
      await sleep(20);
    }
  })();
  const from = sc.output().length;
  saveResource(redisYaml('20000'));
  await logged(from, `component updated: ${PUBSUB} (pubsub.redis/v1)`);
  await logged(from, `streaming subscription to topic ${topic} on pubsub ${PUBSUB} moved to the reloaded component`);
  await sleep(300);
  publishing = false;
  await loop;
  await publish(topic, 'after');
  await stream.waitFor([...sent, 'after']);
  expect(sent.length).toBeGreaterThan(3);
  expect(stream.error).toBeUndefined();
  const metadata = (await (await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/metadata`)).json()) as { subscriptions: object[] };
  expect(metadata.subscriptions).toContainEqual({ pubsubname: PUBSUB, topic, type: 'STREAMING' });
});

it('deleting the pubsub file ends the stream with ERR_PUBSUB_NOT_FOUND', async () => {
  if (!redis) return;
  const topic = `t-${randomUUID()}`;
  const stream = open(topic);
  await stream.ready();
  await publish(topic, 'first');
  await stream.waitFor(['first']);
  const from = sc.output().length;
  rmSync(join(sc.resourcesDir!, FILE));
  await until(() => stream.error !== undefined, () => `the call to end; log since the delete:\n${sc.output().slice(from)}`);
  expect(stream.error!.code).toBe(grpc.status.INVALID_ARGUMENT);
  expect(stream.error!.details).toBe(`pubsub ${PUBSUB} not found`);
  expect(sc.output().slice(from)).toContain(`streaming subscription to topic ${topic} on pubsub ${PUBSUB} ended: the pubsub was removed`);
  const metadata = (await (await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/metadata`)).json()) as { subscriptions?: object[] };
  expect(metadata.subscriptions ?? []).toEqual([]);
});
