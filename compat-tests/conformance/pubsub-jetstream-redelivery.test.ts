// pubsub.jetstream against the local nats-server.
// Redelivery and durability: a message whose handler keeps rejecting comes again (nak, then
// ackWait expiry) until the handler succeeds and then never again; messages published while no
// subscriber runs wait in the durable consumer and reach the next instance with the same consumer
// id, without the ones already acked; another consumer id gets them all.
// Streams: without streamName a topic needs a stream someone created (contrib's behaviour) and its
// absence is a clear error; with streamName the component creates that stream and adds its
// topics to it, but never alters a stream it did not create. Init fails fast when nothing listens.
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { JetStreamPubSub } from '../../src/components/pubsub/jetstream';
import { OWNED_STREAM_DESCRIPTION } from '../../src/components/pubsub/jetstream/streams';
import type { PubSubMessage } from '../../src/components/pubsub/types';
import { requireService } from '../../test/services';
import { sleep, until } from '../../test/wait';

const run = `jstest${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const text = (m: PubSubMessage) => m.data.toString('utf8');

let ready = false;
let admin: NatsConnection | undefined;
let jsm: JetStreamManager;
/** Streams to delete afterwards. */
const streams: string[] = [];
const open: JetStreamPubSub[] = [];

async function create(props: Record<string, string> = {}): Promise<JetStreamPubSub> {
  const ps = new JetStreamPubSub();
  await ps.init({
    name: 'pubsub',
    type: 'pubsub.jetstream',
    version: 'v1',
    appId: 'app',
    namespace: '',
    properties: { natsURL: 'nats://127.0.0.1:4222', consumerID: `${run}-app`, ...props },
  });
  open.push(ps);
  return ps;
}

beforeAll(async () => {
  ready = await requireService('nats', '127.0.0.1', 4222);
  if (!ready) return;
  admin = await connect({ servers: '127.0.0.1:4222' });
  jsm = await jetstreamManager(admin);
});

afterAll(async () => {
  for (const ps of open) await ps.close();
  for (const s of streams) await jsm?.streams.delete(s).catch(() => undefined);
  await admin?.close();
});

describe('pubsub.jetstream redelivery and durability', () => {
  const onShared = { streamName: `${run}-shared`, ackWait: '1s' };
  streams.push(onShared.streamName);

  it('redelivers a rejected message until its handler succeeds, then no more', async () => {
    if (!ready) return;
    const ps = await create(onShared);
    const topic = `${run}-retry`;
    let attempts = 0;
    let doneAt = 0;
    await ps.subscribe({ topic, metadata: {} }, async () => {
      attempts++;
      if (attempts < 4) throw new Error('not yet');
      doneAt = attempts;
    });
    await ps.publish({ topic, data: Buffer.from('stubborn'), metadata: {} });
    await until(() => doneAt > 0, () => `${attempts} attempts`);
    expect(doneAt).toBe(4);
    // Acked on success: nothing comes after ackWait (1s) has passed twice.
    await sleep(2500);
    expect(attempts).toBe(4);
  });

  it('redelivers after ackWait when a handler outlives it without answering', async () => {
    if (!ready) return;
    // Parallel, so the redelivery is handed over while the first delivery is still in its handler.
    const ps = await create({ ...onShared, consumerID: `${run}-stuck`, concurrency: 'parallel' });
    const topic = `${run}-stuck`;
    let deliveries = 0;
    await ps.subscribe({ topic, metadata: {} }, () => {
      deliveries++;
      return deliveries === 1 ? sleep(2500) : Promise.resolve();
    });
    await ps.publish({ topic, data: Buffer.from('slow'), metadata: {} });
    await until(() => deliveries >= 2, () => `${deliveries} deliveries`);
  });

  it('keeps messages for a durable consumer while no subscriber runs', async () => {
    if (!ready) return;
    const topic = `${run}-durable`;
    const publisher = await create({ ...onShared, consumerID: `${run}-publisher` });
    const first = await create(onShared);
    const got1: string[] = [];
    await first.subscribe({ topic, metadata: {} }, async (m) => void got1.push(text(m)));
    // Another app (consumer id) subscribed all along gets everything.
    const other = await create({ ...onShared, consumerID: `${run}-other` });
    const gotOther: string[] = [];
    await other.subscribe({ topic, metadata: {} }, async (m) => void gotOther.push(text(m)));

    await publisher.publish({ topic, data: Buffer.from('before'), metadata: {} });
    await until(() => got1.length === 1, () => got1.join(','));
    await first.close();

    for (const body of ['while-down-1', 'while-down-2']) await publisher.publish({ topic, data: Buffer.from(body), metadata: {} });
    await sleep(300);

    const second = await create(onShared);
    const got2: string[] = [];
    await second.subscribe({ topic, metadata: {} }, async (m) => void got2.push(text(m)));
    await until(() => got2.length >= 2 && gotOther.length >= 3, () => `${got2.join(',')} / ${gotOther.join(',')}`);
    await sleep(500);
    expect(got1).toEqual(['before']);
    // Both, in any order: a message JetStream handed to the closed subscriber's still-open pull request
    // comes back only after ackWait, behind the other one.
    expect([...got2].sort()).toEqual(['while-down-1', 'while-down-2']);
    expect(gotOther).toEqual(['before', 'while-down-1', 'while-down-2']);
  });
});

describe('pubsub.jetstream streams', () => {
  /** A stream made by someone else, as `nats stream add` would. */
  const userStream = async (name: string, subjects: string[]) => {
    streams.push(name);
    await jsm.streams.add({ name, subjects });
  };

  it('without streamName, a topic no stream stores fails publish and subscribe clearly', async () => {
    if (!ready) return;
    const ps = await create();
    const topic = `${run}-nowhere`;
    await expect(ps.publish({ topic, data: Buffer.from('x'), metadata: {} })).rejects.toThrow(`no JetStream stream stores subject "${topic}"`);
    await expect(ps.subscribe({ topic, metadata: {} }, async () => undefined)).rejects.toThrow(`no JetStream stream stores subject "${topic}"`);
  });

  it('without streamName, uses whichever stream stores the topic', async () => {
    if (!ready) return;
    const topic = `${run}.orders.created`;
    await userStream(`${run}-user`, [`${run}.orders.>`]);
    const ps = await create();
    const got: string[] = [];
    await ps.subscribe({ topic, metadata: {} }, async (m) => void got.push(text(m)));
    await ps.publish({ topic, data: Buffer.from('o1'), metadata: {} });
    await until(() => got.length === 1, () => got.join(','));
    expect(got).toEqual(['o1']);
    // The dotted topic made a durable name with its dots replaced.
    const names: string[] = [];
    for await (const c of jsm.consumers.list(`${run}-user`)) names.push(c.name);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(new RegExp(`^${run}-app-${run}_orders_created-[0-9a-f]{8}$`));
  });

  it('with streamName absent, creates the stream and adds each topic to it', async () => {
    if (!ready) return;
    const name = `${run}-owned`;
    streams.push(name);
    const ps = await create({ streamName: name });
    const [a, b] = [`${run}-a`, `${run}-b`];
    const got: string[] = [];
    await ps.subscribe({ topic: a, metadata: {} }, async (m) => void got.push(text(m)));
    await ps.publish({ topic: b, data: Buffer.from('b1'), metadata: {} });
    await ps.publish({ topic: a, data: Buffer.from('a1'), metadata: {} });
    await until(() => got.length === 1, () => got.join(','));
    const info = await jsm.streams.info(name);
    expect(info.config.description).toBe(OWNED_STREAM_DESCRIPTION);
    expect([...(info.config.subjects ?? [])].sort()).toEqual([a, b]);
    expect(info.state.messages).toBe(2);
    // A second instance (another process, say) finds the stream and extends it too.
    const other = await create({ streamName: name });
    await other.publish({ topic: `${run}-c`, data: Buffer.from('c1'), metadata: {} });
    expect([...((await jsm.streams.info(name)).config.subjects ?? [])].sort()).toEqual([a, b, `${run}-c`]);
  });

  it('never alters a stream it did not create', async () => {
    if (!ready) return;
    const name = `${run}-theirs`;
    await userStream(name, [`${run}-theirs-topic`]);
    const ps = await create({ streamName: name });
    const topic = `${run}-elsewhere`;
    await expect(ps.publish({ topic, data: Buffer.from('x'), metadata: {} })).rejects.toThrow('was not created by this component');
    await expect(ps.subscribe({ topic, metadata: {} }, async () => undefined)).rejects.toThrow('was not created by this component');
    expect((await jsm.streams.info(name)).config.subjects).toEqual([`${run}-theirs-topic`]);
  });

  it('the same CloudEvent id on two topics of one stream is not taken for a duplicate', async () => {
    if (!ready) return;
    const name = `${run}-dedup`;
    streams.push(name);
    const ps = await create({ streamName: name });
    const event = Buffer.from(JSON.stringify({ specversion: '1.0', id: 'same', data: 1 }));
    await ps.publish({ topic: `${run}-d1`, data: event, metadata: {} });
    await ps.publish({ topic: `${run}-d2`, data: event, metadata: {} });
    // A retried publish of one event on one topic is.
    await ps.publish({ topic: `${run}-d1`, data: event, metadata: {} });
    expect((await jsm.streams.info(name)).state.messages).toBe(2);
  });

  it('init fails fast with a clear error when no server listens', async () => {
    const ps = new JetStreamPubSub();
    const started = Date.now();
    await expect(
      ps.init({ name: 'pubsub', type: 'pubsub.jetstream', version: 'v1', appId: 'app', namespace: '', properties: { natsURL: 'nats://127.0.0.1:1', consumerID: 'x' } }),
    ).rejects.toThrow('pubsub.jetstream: error connecting to NATS at nats://127.0.0.1:1');
    expect(Date.now() - started).toBeLessThan(6000);
    await ps.close();
  });
});
