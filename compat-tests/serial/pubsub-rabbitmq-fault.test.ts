// pubsub.rabbitmq at least once: 10,000 events through two sidecars across a restart of the
// machine's RabbitMQ and a crash of the subscriber (see faults/at-least-once.ts). Serial: the
// whole node stops (rabbitmqctl stop) and starts again as the machine notes say
// (rabbitmq-server -detached), which every other user of the broker would notice; it is brought
// back even when the test fails. Durable exchange and queue (deletedWhenUnused=false, so the queue
// also outlives the crashed subscriber), persistent messages (deliveryMode 2), publisher confirms
// (a publish is acknowledged only once the broker confirmed it), requeueInFailure so a delivery the
// crashed app never answered goes back to the queue.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { reachable, requireService } from '../../test/services';
import { until } from '../../test/wait';
import { componentYaml } from '../helpers/sidecar';
import { runAtLeastOnce } from '../faults/at-least-once';

const run = promisify(execFile);
const URL = 'amqp://guest:guest@127.0.0.1:5672';
const N = Number(process.env.FAULTS_EVENTS ?? 10_000);

const rabbitmqctl = (...args: string[]) => run('rabbitmqctl', ['-q', ...args], { timeout: 120_000 });

/** Starts the node as the machine does, unless it answers; then waits for the broker to be up. */
async function ensureUp(): Promise<void> {
  if (!(await reachable('127.0.0.1', 5672))) {
    // The node may be running with the app stopped; otherwise start the node itself.
    await rabbitmqctl('start_app').catch(() => run('rabbitmq-server', ['-detached'], { timeout: 60_000 }));
    await until(() => reachable('127.0.0.1', 5672), () => 'RabbitMQ to accept connections on 5672 again', 120_000);
  }
  await rabbitmqctl('await_startup');
}

async function restartRabbitMQ(): Promise<void> {
  await rabbitmqctl('stop');
  await run('rabbitmq-server', ['-detached'], { timeout: 60_000 });
  await until(() => reachable('127.0.0.1', 5672), () => 'RabbitMQ to accept connections on 5672 after its restart', 120_000);
  await rabbitmqctl('await_startup');
}

describe('pubsub.rabbitmq: at least once across a RabbitMQ restart and a subscriber crash', () => {
  let usable = false;
  const id = `alo-${Date.now().toString(36)}`;
  const topic = `${id}-orders`;
  const appId = `${id}-sub`;

  beforeAll(async () => {
    if (!(await requireService('rabbitmq', '127.0.0.1', 5672))) return;
    try {
      await rabbitmqctl('status');
      usable = true;
    } catch (e) {
      process.stderr.write(`\n!!! SKIPPED: rabbitmqctl is not usable here (${(e as Error).message}); the RabbitMQ fault test needs it.\n\n`);
    }
  }, 120_000);

  afterAll(async () => {
    if (!usable) return;
    await ensureUp();
    // Durable and never auto-deleted: remove what the test declared.
    const conn = await connect(URL);
    const ch = await conn.createChannel();
    await ch.deleteQueue(`${appId}-${topic}`);
    await ch.deleteExchange(topic);
    await conn.close();
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
          connectionString: URL,
          durable: 'true',
          deletedWhenUnused: 'false',
          deliveryMode: '2',
          requeueInFailure: 'true',
          prefetchCount: '200',
          concurrencyMode: 'parallel',
          reconnectWait: '1s',
        }),
      },
      restartBroker: restartRabbitMQ,
    });
    expect(counts.acknowledged).toBe(N);
    expect(counts.lost).toEqual([]);
  }, 600_000);
});
