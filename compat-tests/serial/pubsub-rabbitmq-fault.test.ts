// pubsub.rabbitmq at least once: 10,000 events through two sidecars across a restart of the
// machine's RabbitMQ and a crash of the subscriber (see faults/at-least-once.ts). Serial: the
// whole node stops (rabbitmqctl stop) and starts again as the machine notes say
// (rabbitmq-server -detached), which every other user of the broker would notice; it is brought
// back even when the test fails. Durable exchange and queue (deletedWhenUnused=false, so the queue
// also outlives the crashed subscriber), persistent messages (deliveryMode 2), publisher confirms
// (a publish is acknowledged only once the broker confirmed it), requeueInFailure so a delivery the
// crashed app never answered goes back to the queue.
import { requireService } from '../../test/services';
import { deleteRabbitMQTopology, ensureRabbitMQUp, RABBITMQ_URL, rabbitmqctlUsable, restartRabbitMQNode } from '../helpers/rabbitmq';
import { componentYaml } from '../helpers/sidecar';
import { runAtLeastOnce } from '../faults/at-least-once';

const N = Number(process.env.FAULTS_EVENTS ?? 10_000);

describe('pubsub.rabbitmq: at least once across a RabbitMQ restart and a subscriber crash', () => {
  let usable = false;
  const id = `alo-${Date.now().toString(36)}`;
  const topic = `${id}-orders`;
  const appId = `${id}-sub`;

  beforeAll(async () => {
    usable = (await requireService('rabbitmq', '127.0.0.1', 5672)) && (await rabbitmqctlUsable());
  }, 120_000);

  afterAll(async () => {
    if (!usable) return;
    await ensureRabbitMQUp();
    await deleteRabbitMQTopology(`${appId}-${topic}`, topic);
  }, 300_000);

  it(`every acknowledged event of ${N} arrives at least once`, async () => {
    if (!usable) return;
    const counts = await runAtLeastOnce({
      label: 'pubsub.rabbitmq',
      n: N,
      pubsub: 'events',
      topic,
      appId,
      resources: {
        'events.yaml': componentYaml('events', 'pubsub.rabbitmq', {
          connectionString: RABBITMQ_URL,
          durable: 'true',
          deletedWhenUnused: 'false',
          deliveryMode: '2',
          requeueInFailure: 'true',
          prefetchCount: '200',
          concurrencyMode: 'parallel',
          reconnectWait: '1s',
        }),
      },
      restartBroker: restartRabbitMQNode,
    });
    expect(counts.acknowledged).toBe(N);
    expect(counts.lost).toEqual([]);
  }, 600_000);
});
