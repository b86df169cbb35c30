// pubsub.rabbitmq across a broker restart (serial: it restarts the machine's RabbitMQ with
// `rabbitmqctl stop_app` / `start_app`, which drops every connection). With durable queues and
// persistent messages, events published (confirmed) before the restart, some of them in the
// handler at that moment, are all delivered afterwards: the subscription comes back by itself,
// publishing while the broker is away fails with a clear error, and nothing crashes. A second,
// non-durable subscription shows the topology the restart wiped is declared again.
import { RabbitMQPubSub } from '../../src/components/pubsub/rabbitmq';
import type { Subscription } from '../../src/components/pubsub/types';
import { requireService } from '../../test/services';
import { sleep, until } from '../../test/wait';
import { deleteRabbitMQTopology, ensureRabbitMQUp, RABBITMQ_URL as URL, rabbitmqctl, rabbitmqctlUsable } from '../helpers/rabbitmq';

describe('pubsub.rabbitmq: broker restart with events in flight', () => {
  let ready = false;
  const id = `psrestart-${Date.now().toString(36)}`;
  const topic = `${id}-events`;
  const consumerID = `${id}-app`;
  const ps = new RabbitMQPubSub();
  // Non-durable, auto-deleted: the restart removes its exchange and queue.
  const volatile = new RabbitMQPubSub();
  const subs: Subscription[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => void unhandled.push(e);

  beforeAll(async () => {
    if (!(await requireService('rabbitmq', '127.0.0.1', 5672)) || !(await rabbitmqctlUsable())) return;
    process.on('unhandledRejection', onUnhandled);
    await ps.init({
      name: 'restart',
      type: 'pubsub.rabbitmq',
      version: 'v1',
      appId: 'restart',
      namespace: '',
      properties: {
        connectionString: URL,
        consumerID,
        durable: 'true',
        deletedWhenUnused: 'false',
        deliveryMode: '2',
        requeueInFailure: 'true',
        prefetchCount: '5',
        concurrencyMode: 'single',
        reconnectWaitSeconds: '1',
      },
    });
    await volatile.init({
      name: 'volatile',
      type: 'pubsub.rabbitmq',
      version: 'v1',
      appId: 'restart',
      namespace: '',
      properties: { connectionString: URL, consumerID, durable: 'false', reconnectWaitSeconds: '1' },
    });
    ready = true;
  }, 60000);

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    if (ready) await ensureRabbitMQUp();
    for (const s of subs) await s.close();
    await ps.close();
    await volatile.close();
    if (!ready) return;
    // Durable and never auto-deleted: remove what the test declared.
    await deleteRabbitMQTopology(`${consumerID}-${topic}`, topic);
  }, 90000);

  it('redelivers everything after the restart, on the same subscription', async () => {
    if (!ready) return;
    const received = new Set<string>();
    const volatileGot: string[] = [];
    let inHandler = 0;
    // From the 4th event on, the handler holds until the broker is gone: rabbitmqctl alone can take
    // seconds on a busy machine, and the events must still be outstanding when the broker stops.
    let brokerGone!: () => void;
    const gone = new Promise<void>((r) => (brokerGone = r));
    subs.push(await volatile.subscribe({ topic: `${topic}-volatile`, metadata: {} }, async (m) => void volatileGot.push(m.data.toString())));
    const sub = await ps.subscribe({ topic, metadata: {} }, async (m) => {
      inHandler++;
      try {
        // Slow enough that the restart catches messages in the handler and unacked in the queue.
        await sleep(50);
        if (received.size >= 3) await gone;
        received.add(m.data.toString());
      } finally {
        inHandler--;
      }
    });
    subs.push(sub);

    const published: string[] = [];
    const publish = async (body: string) => {
      await ps.publish({ topic, data: Buffer.from(body), contentType: 'text/plain', metadata: {} });
      published.push(body);
    };
    for (let i = 0; i < 40; i++) await publish(`before-${i}`);
    await until(() => received.size >= 3 && inHandler > 0, () => `${received.size} received`, 10000);

    try {
      await rabbitmqctl('stop_app');
      brokerGone();
      // Events were still outstanding (in the handler or queued unacked) when the broker went.
      expect(received.size).toBeLessThan(published.length);
      // Broker away: publish waits (bounded) for the reconnect, then fails with a clear error.
      await expect(ps.publish({ topic, data: Buffer.from('during'), metadata: {} })).rejects.toThrow(/rabbitmq pub\/sub: publishing to .* failed: .*not connected/);
    } finally {
      brokerGone();
      await ensureRabbitMQUp();
    }

    // The same subscription is back without being re-subscribed; new events flow too.
    for (let i = 0; i < 10; i++) await publish(`after-${i}`);
    await until(() => published.every((b) => received.has(b)), () => `missing ${published.filter((b) => !received.has(b)).join(',')}`, 20000);
    expect(received.has('during')).toBe(false);
    // Exchange and queue of the non-durable subscription were declared again after the restart.
    await volatile.publish({ topic: `${topic}-volatile`, data: Buffer.from('v-after'), metadata: {} });
    await until(() => volatileGot.includes('v-after'), () => `volatile got ${volatileGot.join(',')}`, 10000);
    expect(unhandled).toEqual([]);
  }, 60000);
});
