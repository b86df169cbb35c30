import type { AppBulkEvent, AppChannel, AppEventStatus, AppSubscription, AppTopicEvent } from '../../app-channel/types';
import { InMemoryPubSub } from '../../components/pubsub/in-memory';
import type { PublishRequest } from '../../components/pubsub/types';
import { ComponentStore } from '../../components/store';
import { RuntimeError } from '../../errors/runtime-error';
import { createCore } from '..';
import { until } from '../../../test/wait';

async function coreWith(pubsubs: Record<string, Record<string, string>>, appId = 'app1') {
  const components = new ComponentStore();
  const brokers: Record<string, InMemoryPubSub> = {};
  for (const [name, properties] of Object.entries(pubsubs)) {
    const meta = { name, type: 'pubsub.in-memory', version: 'v1', properties: { redeliverInterval: '20ms', ...properties }, appId, namespace: '' };
    const instance = (brokers[name] = new InMemoryPubSub());
    await instance.init(meta);
    components.add({ kind: 'pubsub', name, meta, instance, capabilities: [] });
  }
  const core = createCore({ components, appId, namespace: '', runtimeVersion: 't' }, { protocol: 'http', channelAddress: '127.0.0.1' });
  return { core, brokers };
}

const failure = async (p: Promise<unknown>): Promise<RuntimeError> => {
  const e = await p.catch((x: unknown) => x);
  expect(e).toBeInstanceOf(RuntimeError);
  return e as RuntimeError;
};

/** An app channel that answers from a script and records what it got. */
function fakeApp(subs: AppSubscription[], answer: (ev: AppTopicEvent, n: number) => AppEventStatus) {
  const got: AppTopicEvent[] = [];
  const channel: AppChannel = {
    kind: 'fake',
    listSubscriptions: async () => subs,
    deliverEvent: async (ev) => {
      got.push(ev);
      return answer(ev, got.length);
    },
    deliverBulk: async (ev: AppBulkEvent) => new Map(ev.entries.map((e) => [e.entryId, 'SUCCESS' as const])),
    invoke: async () => {
      throw new Error('not used by pub/sub');
    },
    listensToBinding: async () => false,
    deliverBindingEvent: async () => {
      throw new Error('not used by pub/sub');
    },
    probeHealth: async () => true,
    close: async () => undefined,
  };
  return { channel, got };
}

const sub = (over: Partial<AppSubscription> = {}): AppSubscription => ({ pubsubName: 'ps', topic: 't', metadata: {}, rules: [{ match: '', path: '/t' }], defaultRoute: '', deadLetterTopic: '', ...over });
const pub = (over: Partial<{ pubsubName: string; topic: string; data: Buffer; contentType: string; metadata: Record<string, string> }> = {}) => ({
  pubsubName: 'ps',
  topic: 't',
  data: Buffer.from('{"a":1}'),
  contentType: 'application/json',
  metadata: {},
  ...over,
});

describe('publishing', () => {
  it('checks in daprd order: configured, name, found, topic', async () => {
    const none = await coreWith({});
    expect((await failure(none.core.pubsub.publisher.publish(pub()))).kind).toBe('PUBSUB_NOT_CONFIGURED');
    const { core } = await coreWith({ ps: {} });
    expect((await failure(core.pubsub.publisher.publish(pub({ pubsubName: '' })))).kind).toBe('PUBSUB_EMPTY');
    expect((await failure(core.pubsub.publisher.publish(pub({ pubsubName: 'x' })))).kind).toBe('PUBSUB_NOT_FOUND');
    expect((await failure(core.pubsub.publisher.publish(pub({ topic: '' })))).kind).toBe('PUBSUB_TOPIC_EMPTY');
    expect((await failure(core.pubsub.publisher.publish(pub({ metadata: { rawPayload: 'nah' } })))).kind).toBe('PUBSUB_REQUEST_METADATA');
    expect((await failure(core.pubsub.publisher.publish(pub({ contentType: 'application/cloudevents+json', data: Buffer.from('{') })))).kind).toBe('PUBSUB_CLOUD_EVENT_CREATION');
  });

  it('refuses topics outside the app scopes with 403', async () => {
    const { core } = await coreWith({ ps: { publishingScopes: 'app1=allowed' } });
    const e = await failure(core.pubsub.publisher.publish(pub({ topic: 'other' })));
    expect([e.kind, e.row.http, e.message]).toEqual(['PUBSUB_FORBIDDEN', 403, 'topic other is not allowed for app id app1']);
    await core.pubsub.publisher.publish(pub({ topic: 'allowed' }));
  });

  it('sends an envelope, or the raw bytes with rawPayload', async () => {
    const { core, brokers } = await coreWith({ ps: {} });
    const sent: PublishRequest[] = [];
    brokers.ps!.publish = async (r) => void sent.push(r);
    await core.pubsub.publisher.publish(pub());
    await core.pubsub.publisher.publish(pub({ data: Buffer.from('raw'), metadata: { rawPayload: 'true' } }));
    expect(sent[0]!.contentType).toBe('application/cloudevents+json');
    expect(JSON.parse(sent[0]!.data.toString())).toMatchObject({ source: 'app1', topic: 't', pubsubname: 'ps', data: { a: 1 } });
    expect(sent[1]!.data.toString()).toBe('raw');
  });

  it('wraps a broker failure as ERR_PUBSUB_PUBLISH_MESSAGE', async () => {
    const { core, brokers } = await coreWith({ ps: {} });
    brokers.ps!.publish = async () => {
      throw new Error('broker down');
    };
    const e = await failure(core.pubsub.publisher.publish(pub()));
    expect([e.code, e.row.http, e.message]).toEqual(['ERR_PUBSUB_PUBLISH_MESSAGE', 500, 'error when publishing to topic t in pubsub ps: broker down']);
  });

  it('bulk: entry ids must be unique; failures come back per entry', async () => {
    const { core, brokers } = await coreWith({ ps: {} });
    const entries: { entryId: string; event: unknown; contentType: string; metadata: Record<string, string> }[] = [
      { entryId: '1', event: { a: 1 }, contentType: 'application/json', metadata: {} },
      { entryId: '2', event: 'two', contentType: 'text/plain', metadata: { fail: 'yes' } },
    ];
    const dup = await failure(core.pubsub.publisher.bulkPublish({ pubsubName: 'ps', topic: 't', metadata: {}, entries: [entries[0]!, entries[0]!] }));
    expect([dup.code, dup.row.http]).toEqual(['ERR_PUBSUB_EVENTS_SER', 400]);
    brokers.ps!.publish = async (r) => {
      if (r.metadata.fail) throw new Error('nope');
    };
    const res = await core.pubsub.publisher.bulkPublish({ pubsubName: 'ps', topic: 't', metadata: {}, entries });
    expect(res.failedEntries).toEqual([{ entryId: '2', error: 'nope' }]);
    expect(res.error?.code).toBe('ERR_PUBSUB_PUBLISH_MESSAGE');
  });
});

describe('subscriptions', () => {
  it('delivers routed events; RETRY redelivers, DROP dead-letters', async () => {
    const { core } = await coreWith({ ps: {} });
    const app = fakeApp([sub({ deadLetterTopic: 'dlq' }), sub({ topic: 'dlq', rules: [{ match: '', path: '/dlq' }] })], (ev, n) => (ev.path === '/dlq' ? 'SUCCESS' : n === 1 ? 'RETRY' : 'DROP'));
    await core.pubsub.subscriber.startApp(app.channel);
    await core.pubsub.publisher.publish(pub());
    await until(() => app.got.length === 3, () => `${app.got.length} deliveries`, 2000);
    expect(app.got.map((e) => e.path)).toEqual(['/t', '/t', '/dlq']);
    expect(app.got[0]!.cloudEvent.id).toBe(app.got[1]!.cloudEvent.id);
    expect(app.got[2]!.data.toString()).toBe('{"a":1}');
    await core.pubsub.subscriber.close();
  });

  it('an event nested past the JSON depth limit (put on the broker by another publisher) is dead-lettered, not thrown', async () => {
    const { core, brokers } = await coreWith({ ps: {} });
    const app = fakeApp([sub({ deadLetterTopic: 'dlq' }), sub({ topic: 'dlq', metadata: { rawPayload: 'true' }, rules: [{ match: '', path: '/dlq' }] })], () => 'SUCCESS');
    await core.pubsub.subscriber.startApp(app.channel);
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    await brokers.ps!.publish({ topic: 't', data: Buffer.from(`{"specversion":"1.0","id":"deep","data":${deep}}`), contentType: 'application/cloudevents+json', metadata: {} });
    await until(() => app.got.length === 1, () => `${app.got.length} deliveries`, 2000);
    expect(app.got[0]!.path).toBe('/dlq');
    await core.pubsub.subscriber.close();
  });

  it('a programmatic subscription replaces a declarative one for the same topic; all are listed', async () => {
    const { core } = await coreWith({ ps: {} });
    core.pubsub.subscriber.setDeclarative([
      { ...sub({ rules: [{ match: '', path: '/declared' }] }), type: 'DECLARATIVE' },
      { ...sub({ topic: 'only-declared', rules: [{ match: '', path: '/od' }] }), type: 'DECLARATIVE' },
    ]);
    const app = fakeApp([sub({ rules: [{ match: '', path: '/programmatic' }] })], () => 'SUCCESS');
    await core.pubsub.subscriber.startApp(app.channel);
    await core.pubsub.publisher.publish(pub());
    await core.pubsub.publisher.publish(pub({ topic: 'only-declared' }));
    await until(() => app.got.length === 2, () => `${app.got.length} deliveries`, 2000);
    expect(app.got.map((e) => e.path).sort()).toEqual(['/od', '/programmatic']);
    expect(core.metadata.get().subscriptions).toEqual([
      { pubsubname: 'ps', topic: 't', rules: [{ path: '/programmatic' }], type: 'PROGRAMMATIC' },
      { pubsubname: 'ps', topic: 'only-declared', rules: [{ path: '/od' }], type: 'DECLARATIVE' },
    ]);
    await core.pubsub.subscriber.close();
  });

  it('streaming: one stream per topic, validated like the publish path', async () => {
    const { core } = await coreWith({ ps: {} });
    const spec = { pubsubName: 'ps', topic: 's', metadata: {}, rules: [{ match: '', path: '' }], defaultRoute: '', deadLetterTopic: '' };
    const got: AppTopicEvent[] = [];
    const stop = await core.pubsub.subscriber.subscribeStream(spec, async (ev) => (got.push(ev), 'SUCCESS'));
    expect((await failure(core.pubsub.subscriber.subscribeStream(spec, async () => 'SUCCESS'))).kind).toBe('PUBSUB_STREAM_ALREADY');
    expect((await failure(core.pubsub.subscriber.subscribeStream({ ...spec, pubsubName: 'x' }, async () => 'SUCCESS'))).kind).toBe('PUBSUB_NOT_FOUND');
    await core.pubsub.publisher.publish(pub({ topic: 's' }));
    await until(() => got.length === 1, () => `${got.length} deliveries`, 2000);
    expect(core.metadata.get().subscriptions).toEqual([{ pubsubname: 'ps', topic: 's', type: 'STREAMING' }]);
    await stop();
    expect(core.metadata.get().subscriptions).toEqual([]);
  });
});
