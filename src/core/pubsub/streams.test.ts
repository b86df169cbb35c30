import type { AppTopicEvent } from '../../app-channel/types';
import { InMemoryPubSub } from '../../components/pubsub/in-memory';
import { ComponentStore } from '../../components/store';
import type { RuntimeError } from '../../errors/runtime-error';
import { createCore } from '..';
import { sleep, until } from '../../../test/wait';

const APP = 'app1';
const spec = { pubsubName: 'ps', topic: 's', metadata: {}, rules: [{ match: '', path: '' }], defaultRoute: '', deadLetterTopic: '' };
const event = (id: string) => ({ topic: 's', data: Buffer.from(JSON.stringify({ specversion: '1.0', id, source: 't', type: 't', data: id })), contentType: 'application/cloudevents+json', metadata: {} });

/** A core over a store whose `ps` instance a test replaces or removes, as the reconciler does. */
async function setup() {
  const components = new ComponentStore();
  /** An initialised instance, and the swap that puts it in the store. */
  const make = async (properties: Record<string, string> = {}) => {
    const meta = { name: 'ps', type: 'pubsub.in-memory', version: 'v1', properties, appId: APP, namespace: '' };
    const instance = new InMemoryPubSub();
    await instance.init(meta);
    return { instance, swapIn: () => components.add({ kind: 'pubsub', name: 'ps', meta, instance, capabilities: [] }) };
  };
  const put = async (properties: Record<string, string> = {}) => {
    const { instance, swapIn } = await make(properties);
    swapIn();
    return instance;
  };
  const first = await put();
  const core = createCore({ components, appId: APP, namespace: '', runtimeVersion: 't' }, { protocol: 'http', channelAddress: '127.0.0.1' });
  const got: string[] = [];
  const ended: RuntimeError[] = [];
  const deliver = async (ev: AppTopicEvent) => (got.push(String(ev.cloudEvent.id)), 'SUCCESS' as const);
  return { components, core, make, put, first, got, ended, deliver, end: (e: RuntimeError) => void ended.push(e) };
}

describe('streaming subscriptions across hot reload', () => {
  it('move to the replaced instance: the old one no longer feeds the stream, the new one does', async () => {
    const t = await setup();
    await t.core.pubsub.subscriber.subscribeStream(spec, t.deliver, t.end);
    await t.first.publish(event('before'));
    await until(() => t.got.length === 1, () => `${t.got}`, 2000);
    const second = await t.put({ redeliverInterval: '10ms' });
    await t.core.pubsub.subscriber.reload([], new Set(['ps']));
    await t.first.publish(event('old-instance'));
    await t.first.close();
    await t.core.pubsub.publisher.publish({ pubsubName: 'ps', ...event('after') });
    await until(() => t.got.includes('after'), () => `${t.got}`, 2000);
    await sleep(50);
    expect(t.got).toEqual(['before', 'after']);
    expect(t.ended).toEqual([]);
    expect(t.core.metadata.get().subscriptions).toEqual([{ pubsubname: 'ps', topic: 's', type: 'STREAMING' }]);
    await second.close();
  });

  it('the stopper closes the subscription on the new instance', async () => {
    const t = await setup();
    const stop = await t.core.pubsub.subscriber.subscribeStream(spec, t.deliver, t.end);
    const second = await t.put();
    await t.core.pubsub.subscriber.reload([], new Set(['ps']));
    await stop();
    await second.publish(event('x'));
    await sleep(50);
    expect(t.got).toEqual([]);
    expect(t.core.metadata.get().subscriptions).toEqual([]);
  });

  it('pub/subs not named by the reload keep their subscription untouched', async () => {
    const t = await setup();
    await t.core.pubsub.subscriber.subscribeStream(spec, t.deliver, t.end);
    await t.core.pubsub.subscriber.reload([], new Set(['other']));
    await t.first.publish(event('kept'));
    await until(() => t.got.length === 1, () => `${t.got}`, 2000);
  });

  it('a reload while the stream is still subscribing: the stream ends up on the new instance only', async () => {
    const t = await setup();
    const second = await t.make();
    // No await between: the first instance's subscribe is still pending when the reload moves it.
    const subscribing = t.core.pubsub.subscriber.subscribeStream(spec, t.deliver, t.end);
    second.swapIn();
    const reloading = t.core.pubsub.subscriber.reload([], new Set(['ps']));
    await Promise.all([subscribing, reloading]);
    await t.first.publish(event('old'));
    await second.instance.publish(event('new'));
    await until(() => t.got.includes('new'), () => `${t.got}`, 2000);
    await sleep(50);
    expect(t.got).toEqual(['new']);
  });

  it('a removed pub/sub ends the stream with ERR_PUBSUB_NOT_FOUND', async () => {
    const t = await setup();
    await t.core.pubsub.subscriber.subscribeStream(spec, t.deliver, t.end);
    t.components.remove('pubsub', 'ps');
    await t.core.pubsub.subscriber.reload([], new Set(['ps']));
    expect(t.ended.map((e) => [e.kind, e.row.code, e.message])).toEqual([['PUBSUB_NOT_FOUND', 'ERR_PUBSUB_NOT_FOUND', 'pubsub ps not found']]);
    expect(t.core.metadata.get().subscriptions).toEqual([]);
    await t.first.publish(event('gone'));
    await sleep(50);
    expect(t.got).toEqual([]);
  });

  it('new topic scopes that refuse the topic end the stream', async () => {
    const t = await setup();
    await t.core.pubsub.subscriber.subscribeStream(spec, t.deliver, t.end);
    await t.put({ subscriptionScopes: `${APP}=other` });
    await t.core.pubsub.subscriber.reload([], new Set(['ps']));
    expect(t.ended.map((e) => e.kind)).toEqual(['PUBSUB_STREAM_FORBIDDEN']);
  });
});
