// pubsub.rabbitmq against the real broker, beyond the shared conformance suite: the layout daprd
// uses (exchange per topic, queue "{consumerID}-{topic}", dlx-/dlq- pair) seen from a plain AMQP
// client in both directions, dead-lettering of rejected messages, message properties on the
// wire, and init failing with a clear error when the broker is unreachable or refuses us.
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { RabbitMQPubSub } from '../../src/components/pubsub/rabbitmq';
import type { PubSubMessage } from '../../src/components/pubsub/types';
import { requireService } from '../../test/services';
import { sleep, until } from '../../test/wait';
import { freePort } from '../helpers/sidecar';

const URL = 'amqp://guest:guest@127.0.0.1:5672';

async function pubsub(props: Record<string, string>): Promise<RabbitMQPubSub> {
  const ps = new RabbitMQPubSub();
  await ps.init({ name: 'layout', type: 'pubsub.rabbitmq', version: 'v1', appId: 'layout', namespace: '', properties: { connectionString: URL, ...props } });
  return ps;
}

describe('pubsub.rabbitmq layout and behaviour', () => {
  let ready = false;
  const run = `pslayout-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const consumerID = `${run}-app`;
  let raw: ChannelModel;
  let ch: Channel;
  const open: RabbitMQPubSub[] = [];
  const cleanup: { queues: string[]; exchanges: string[] } = { queues: [], exchanges: [] };

  beforeAll(async () => {
    if (!(await requireService('rabbitmq', '127.0.0.1', 5672))) return;
    raw = await connect(URL);
    ch = await raw.createChannel();
    ready = true;
  });

  afterAll(async () => {
    for (const ps of open) await ps.close();
    if (!ready) return;
    for (const q of cleanup.queues) await ch.deleteQueue(q);
    for (const x of cleanup.exchanges) await ch.deleteExchange(x);
    await raw.close();
  });

  const check = (name: string, fn: () => Promise<void>, timeout = 30000) =>
    it(name, async () => {
      if (ready) await fn();
    }, timeout);

  const make = async (props: Record<string, string>) => {
    const ps = await pubsub(props);
    open.push(ps);
    return ps;
  };

  check('init fails with a clear error when nothing listens', async () => {
    const port = await freePort(); // nothing listens there
    const ps = new RabbitMQPubSub();
    const started = Date.now();
    await expect(ps.init({ name: 'x', type: 'pubsub.rabbitmq', version: 'v1', appId: 'x', namespace: '', properties: { connectionString: `amqp://127.0.0.1:${port}` } })).rejects.toThrow(
      new RegExp(`rabbitmq pub/sub: error connecting to amqp://127.0.0.1:${port}: .*ECONNREFUSED`),
    );
    expect(Date.now() - started).toBeLessThan(6000);
    await ps.close();
  });

  check('init fails with a clear error on wrong credentials, without leaking the password', async () => {
    const ps = new RabbitMQPubSub();
    const err = await ps.init({ name: 'x', type: 'pubsub.rabbitmq', version: 'v1', appId: 'x', namespace: '', properties: { hostname: '127.0.0.1:5672', username: 'nobody', password: 's3cret' } }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/error connecting to amqp:\/\/127.0.0.1:5672: .*ACCESS_REFUSED/);
    expect((err as Error).message).not.toContain('s3cret');
    await ps.close();
  });

  check('exchange per topic, queue {consumerID}-{topic}: a plain AMQP publisher reaches the subscriber', async () => {
    const topic = `${run}-in`;
    const ps = await make({ consumerID, durable: 'false' });
    const got: PubSubMessage[] = [];
    await ps.subscribe({ topic, metadata: {} }, async (m) => void got.push(m));
    await ch.checkExchange(topic);
    const q = await ch.checkQueue(`${consumerID}-${topic}`);
    expect(q.consumerCount).toBe(1);
    // What daprd's rabbitmq component puts on the wire: the bytes, published to the topic's exchange.
    const body = Buffer.from(JSON.stringify({ specversion: '1.0', id: 'x', data: 'from-daprd' }));
    ch.publish(topic, '', body, { contentType: 'text/plain' });
    await until(() => got.length === 1, () => `${got.length} received`, 10000);
    expect(got[0]!.data.equals(body)).toBe(true);
    expect(got[0]!.topic).toBe(topic);
  });

  check('published messages carry deliveryMode, expiration (ttlInSeconds) and properties', async () => {
    const topic = `${run}-out`;
    const ps = await make({ consumerID, durable: 'false', deliveryMode: '2', ttlInSeconds: '30' });
    // A first publish declares the exchange; bind a plain queue to it, as another app's daprd would.
    await ps.publish({ topic, data: Buffer.from('warmup'), metadata: {} });
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, topic, '');
    await ps.publish({ topic, data: Buffer.from('a'), contentType: 'application/cloudevents+json', metadata: { messageId: 'm-1' } });
    await ps.publish({ topic, data: Buffer.from('b'), metadata: { ttlInSeconds: '5' } });
    const a = await ch.get(queue, { noAck: true });
    const b = await ch.get(queue, { noAck: true });
    if (!a || !b) throw new Error('messages not routed to the bound queue');
    expect(a.content.toString()).toBe('a');
    expect(a.properties).toMatchObject({ deliveryMode: 2, expiration: '30000', contentType: 'application/cloudevents+json', messageId: 'm-1' });
    expect(b.properties).toMatchObject({ expiration: '5000', contentType: 'text/plain' });
    cleanup.exchanges.push(topic);
  });

  check('a rejected message goes to dlq-{queue} with enableDeadLetter and no requeue', async () => {
    const topic = `${run}-dl`;
    const queue = `${consumerID}-${topic}`;
    cleanup.queues.push(`dlq-${queue}`);
    cleanup.exchanges.push(`dlx-${queue}`);
    const ps = await make({ consumerID, durable: 'false', enableDeadLetter: 'true' });
    let attempts = 0;
    await ps.subscribe({ topic, metadata: {} }, async () => {
      attempts++;
      throw new Error('app said RETRY');
    });
    await ps.publish({ topic, data: Buffer.from('poison'), metadata: {} });
    let dead: false | { content: Buffer } = false;
    const end = Date.now() + 10000;
    while (!dead && Date.now() < end) {
      dead = await ch.get(`dlq-${queue}`, { noAck: true });
      if (!dead) await sleep(50);
    }
    expect(dead && dead.content.toString()).toBe('poison');
    expect(attempts).toBe(1);
  });

  check('handler rejection with requeueInFailure comes back; success is acked once', async () => {
    const topic = `${run}-requeue`;
    const ps = await make({ consumerID, durable: 'false', requeueInFailure: 'true' });
    let attempts = 0;
    await ps.subscribe({ topic, metadata: {} }, async () => {
      if (++attempts < 3) throw new Error('not yet');
    });
    await ps.publish({ topic, data: Buffer.from('x'), metadata: {} });
    await until(() => attempts === 3, () => `${attempts} attempts`, 10000);
    await sleep(300);
    expect(attempts).toBe(3);
    const q = await ch.checkQueue(`${consumerID}-${topic}`);
    expect(q.messageCount).toBe(0);
  });

  check('bad subscription metadata fails subscribe with a clear error', async () => {
    const ps = await make({ consumerID, durable: 'false' });
    await expect(ps.subscribe({ topic: `${run}-bad`, metadata: { queueType: 'stream' } }, async () => undefined)).rejects.toThrow(/invalid queue type "stream"/);
  });
});
