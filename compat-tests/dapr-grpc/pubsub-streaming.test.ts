// Streaming subscriptions on the built sidecar, no app server: Dapr's SubscribeTopicEventsAlpha1
// (a grpc-js client on the protos @dapr/dapr ships) and Layotto's SubscribeTopicEvents (a grpc-js
// client on our proto/layotto), both against one sidecar on pubsub.in-memory. The protocol
// (initial_request → initial_response → event_message → event_processed), acks (SUCCESS is not
// redelivered, RETRY is), unsubscribing on close, one stream per pubsub+topic, the error statuses
// of bad first messages, and the STREAMING entry GET /v1.0/metadata shows while a stream is open.
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { daprClientConstructor } from '../../src/api/dapr-grpc/protos';
import { loadLayottoDefinition, PACKAGE as LAYOTTO_PACKAGE } from '../../src/api/layotto-grpc/protos';
import { httpSubscriptions, PUBSUB, PUBSUB_BACKENDS, pubsubYaml, publishHttp, uniqueTopic, until } from '../helpers/pubsub';
import { type Sidecar, startSidecar } from '../helpers/sidecar';

const APP_ID = 'streaming-app';
/** The number of RETRY acks the redelivery clock answers before SUCCESS. */
const CLOCK_RETRIES = 3;

interface TopicEvent {
  id: string;
  source: string;
  type: string;
  spec_version: string;
  data_content_type: string;
  data: Buffer;
  topic: string;
  pubsub_name: string;
  /** Dapr only. */
  path?: string;
  extensions?: { fields: Record<string, { stringValue?: string }> };
  /** Layotto only. */
  metadata?: Record<string, string>;
}

interface StreamResponse {
  initial_response?: object | null;
  event_message?: TopicEvent | null;
}

type Status = 'SUCCESS' | 'RETRY' | 'DROP';

interface Flavour {
  name: string;
  /** Opens the bidi call on the sidecar. */
  open: (sc: Sidecar) => { call: grpc.ClientDuplexStream<object, StreamResponse>; close: () => void };
  /** The enum as this client writes it (Dapr's loader: names; Layotto's: numbers). */
  status: (s: Status) => string | number;
  /** Closes the stream the way this case does it: half-close (Dapr) or cancel (Layotto). */
  hangUp: (s: EventStream) => void;
}

/** One open call: everything it received, and how it ended. */
class EventStream {
  readonly messages: StreamResponse[] = [];
  error?: grpc.ServiceError;
  ended = false;

  constructor(
    readonly call: grpc.ClientDuplexStream<object, StreamResponse>,
    private readonly flavour: Flavour,
  ) {
    call.on('data', (m: StreamResponse) => this.messages.push(m));
    call.on('error', (e: grpc.ServiceError) => (this.error = e));
    call.on('end', () => (this.ended = true));
  }

  events(id?: string): TopicEvent[] {
    return this.messages.flatMap((m) => (m.event_message && (id === undefined || m.event_message.id === id) ? [m.event_message] : []));
  }

  async waitEvents(id: string, count = 1): Promise<TopicEvent[]> {
    await until(
      () => this.events(id).length >= count || this.error !== undefined,
      () => `${count} event_message(s) with id ${id}, got ${this.events(id).length} (all ids: ${this.events().map((e) => e.id).join(', ')})`,
    );
    if (this.error) throw this.error;
    return this.events(id);
  }

  subscribe(pubsub: string, topic: string): void {
    this.call.write({ initial_request: { pubsub_name: pubsub, topic, metadata: {} } });
  }

  /** Subscribes and resolves on initial_response. */
  async start(topic: string): Promise<this> {
    this.subscribe(PUBSUB, topic);
    await until(() => this.messages.length > 0 || this.error !== undefined, () => 'initial_response');
    if (this.error) throw this.error;
    expect(this.messages[0]).toEqual(expect.objectContaining({ initial_response: {} }));
    return this;
  }

  ack(id: string, status: Status): void {
    this.call.write({ event_processed: { id, status: { status: this.flavour.status(status) } } });
  }

  /** Resolves with the status the call ended with (an error status, as the client sees it). */
  async failure(): Promise<grpc.ServiceError> {
    await until(() => this.error !== undefined, () => `the call to fail; received ${JSON.stringify(this.messages)}`);
    return this.error!;
  }
}

const STATUS_NUMBER: Record<Status, number> = { SUCCESS: 0, RETRY: 1, DROP: 2 };

const FLAVOURS: Flavour[] = [
  {
    name: 'Dapr SubscribeTopicEventsAlpha1',
    open: (sc) => {
      const Dapr = daprClientConstructor();
      const client = new Dapr(`127.0.0.1:${sc.grpcPort}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
        SubscribeTopicEventsAlpha1: () => grpc.ClientDuplexStream<object, StreamResponse>;
      };
      return { call: client.SubscribeTopicEventsAlpha1(), close: () => client.close() };
    },
    status: (s) => s,
    hangUp: (s) => s.call.end(),
  },
  {
    name: 'Layotto SubscribeTopicEvents',
    open: (sc) => {
      const def = loadLayottoDefinition()[`${LAYOTTO_PACKAGE}.Runtime`] as grpc.ServiceDefinition;
      const Runtime = grpc.makeClientConstructor(def, 'Runtime');
      const client = new Runtime(`127.0.0.1:${sc.layottoPort}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
        SubscribeTopicEvents: () => grpc.ClientDuplexStream<object, StreamResponse>;
      };
      return { call: client.SubscribeTopicEvents(), close: () => client.close() };
    },
    status: (s) => STATUS_NUMBER[s],
    hangUp: (s) => s.call.cancel(),
  },
];

describe('streaming subscriptions (no app server)', () => {
  let sc: Sidecar;
  const opened: { stream: EventStream; close: () => void }[] = [];

  beforeAll(async () => {
    sc = await startSidecar({ appId: APP_ID, resources: { 'pubsub.yaml': pubsubYaml(PUBSUB_BACKENDS.find((b) => b.type === 'pubsub.in-memory')!) } });
  });

  afterAll(async () => {
    for (const o of opened) {
      o.stream.call.cancel();
      o.close();
    }
    await sc?.stop();
  });

  const open = (flavour: Flavour): EventStream => {
    const { call, close } = flavour.open(sc);
    const stream = new EventStream(call, flavour);
    opened.push({ stream, close });
    return stream;
  };

  const publish = async (topic: string, id: string, body = '{"n":1}') => {
    expect(await publishHttp(sc, PUBSUB, topic, body, { metadata: { 'cloudevent.id': id } })).toEqual({ status: 204, text: '' });
  };

  const streamingListed = async (topic: string) => (await httpSubscriptions(sc)).filter((s) => s.topic === topic);

  for (const flavour of FLAVOURS) {
    describe(flavour.name, () => {
      /**
       * The clock for "not redelivered": an event on `stream` acked RETRY CLOCK_RETRIES times, then
       * SUCCESS. When its last delivery arrives the broker has had that many redelivery rounds.
       */
      const redeliveryRounds = async (stream: EventStream, topic: string) => {
        const id = `clock-${randomUUID()}`;
        await publish(topic, id);
        for (let n = 1; n <= CLOCK_RETRIES + 1; n++) {
          await stream.waitEvents(id, n);
          stream.ack(id, n <= CLOCK_RETRIES ? 'RETRY' : 'SUCCESS');
        }
      };

      it('initial_request → initial_response; events carry the CloudEvent; SUCCESS is not redelivered, RETRY is; listed as STREAMING while open', async () => {
        const topic = uniqueTopic('stream');
        const s = await open(flavour).start(topic);
        expect(await streamingListed(topic)).toEqual([{ pubsubname: PUBSUB, topic, type: 'STREAMING' }]);

        const traceparent = `00-${randomUUID().replace(/-/g, '')}-0123456789abcdef-01`;
        expect(await publishHttp(sc, PUBSUB, topic, '{"order":7}', { metadata: { 'cloudevent.id': 'ev-ok' }, headers: { traceparent } })).toMatchObject({ status: 204 });
        const [ev] = await s.waitEvents('ev-ok');
        expect(ev).toMatchObject({
          id: 'ev-ok',
          source: APP_ID,
          type: 'com.dapr.event.sent',
          spec_version: '1.0',
          data_content_type: 'application/json',
          topic,
          pubsub_name: PUBSUB,
        });
        expect(JSON.parse(Buffer.from(ev!.data).toString('utf8'))).toEqual({ order: 7 });
        if (flavour.name.startsWith('Dapr')) {
          // Dapr: the other CloudEvent attributes travel as extensions (a google.protobuf.Struct,
          // whose Value fields protobufjs names in camelCase).
          expect(ev!.path).toBe('');
          expect(ev!.extensions?.fields).toMatchObject({ traceparent: { stringValue: traceparent }, topic: { stringValue: topic }, pubsubname: { stringValue: PUBSUB } });
        }
        s.ack('ev-ok', 'SUCCESS');

        await publish(topic, 'ev-retry');
        await s.waitEvents('ev-retry');
        s.ack('ev-retry', 'RETRY');
        const [, again] = await s.waitEvents('ev-retry', 2);
        expect(again).toMatchObject({ id: 'ev-retry', topic });
        s.ack('ev-retry', 'SUCCESS');

        await redeliveryRounds(s, topic);
        expect(s.events('ev-ok')).toHaveLength(1);
        expect(s.events('ev-retry')).toHaveLength(2);
        expect(s.error).toBeUndefined();
      });

      it('a second stream on the same pubsub and topic is refused; the first keeps receiving', async () => {
        const topic = uniqueTopic('dup');
        const first = await open(flavour).start(topic);
        const second = open(flavour);
        second.subscribe(PUBSUB, topic);
        const err = await second.failure();
        expect(err.code).toBe(grpc.status.ALREADY_EXISTS);
        expect(err.details).toBe(`already subscribed to pubsub ${PUBSUB} topic ${topic}`);
        await publish(topic, 'dup-1');
        await first.waitEvents('dup-1');
        first.ack('dup-1', 'SUCCESS');
        expect(await streamingListed(topic)).toHaveLength(1);
      });

      it('closing the stream unsubscribes: it leaves the metadata, the topic can be subscribed again, and only the new stream gets later events', async () => {
        const topic = uniqueTopic('close');
        const old = await open(flavour).start(topic);
        await publish(topic, 'before-close');
        await old.waitEvents('before-close');
        old.ack('before-close', 'SUCCESS');

        flavour.hangUp(old);
        await until(async () => (await streamingListed(topic)).length === 0, () => 'the stream to leave GET /v1.0/metadata');
        await publish(topic, 'while-closed');

        const fresh = await open(flavour).start(topic);
        await publish(topic, 'after-reopen');
        await fresh.waitEvents('after-reopen');
        fresh.ack('after-reopen', 'SUCCESS');
        await redeliveryRounds(fresh, topic);
        expect(fresh.events().map((e) => e.id).filter((id) => !id.startsWith('clock-'))).toEqual(['after-reopen']);
        expect(old.events().map((e) => e.id)).toEqual(['before-close']);
      });

      it('bad first messages end the call with a clear status and the sidecar stays up', async () => {
        const notInitial = open(flavour);
        notInitial.call.write({ event_processed: { id: 'x', status: { status: flavour.status('SUCCESS') } } });
        const e1 = await notInitial.failure();
        expect({ code: e1.code, details: e1.details }).toEqual({ code: grpc.status.INVALID_ARGUMENT, details: 'initial request is required' });

        const unknownPubsub = open(flavour);
        unknownPubsub.subscribe('no-such-pubsub', uniqueTopic('x'));
        const e2 = await unknownPubsub.failure();
        expect({ code: e2.code, details: e2.details }).toEqual({ code: grpc.status.INVALID_ARGUMENT, details: 'pubsub no-such-pubsub not found' });

        const emptyTopic = open(flavour);
        emptyTopic.subscribe(PUBSUB, '');
        const e3 = await emptyTopic.failure();
        expect({ code: e3.code, details: e3.details }).toEqual({ code: grpc.status.INVALID_ARGUMENT, details: `topic is empty in pubsub ${PUBSUB}` });

        const emptyPubsub = open(flavour);
        emptyPubsub.subscribe('', uniqueTopic('x'));
        const e4 = await emptyPubsub.failure();
        expect({ code: e4.code, details: e4.details }).toEqual({ code: grpc.status.INVALID_ARGUMENT, details: 'pubsub name is empty' });

        expect((await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/healthz`)).status).toBe(204);
        const topic = uniqueTopic('after-errors');
        const ok = await open(flavour).start(topic);
        await publish(topic, 'still-up');
        await ok.waitEvents('still-up');
        ok.ack('still-up', 'SUCCESS');
        expect(sc.proc.exitCode).toBeNull();
      });
    });
  }
});
