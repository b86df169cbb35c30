// The machine's RabbitMQ for the serial suites that stop it: rabbitmqctl, bringing the broker back
// whatever state a test left it in (the app stopped, or the whole node: then started as the machine
// does it, `rabbitmq-server -detached`), and removing the durable topology a test declared.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { reachable } from '../../test/services';
import { until } from '../../test/wait';

const run = promisify(execFile);
export const RABBITMQ_URL = 'amqp://guest:guest@127.0.0.1:5672';

/** rabbitmqctl -q <args>; the CLI alone takes seconds on a busy machine. */
export async function rabbitmqctl(...args: string[]): Promise<void> {
  await run('rabbitmqctl', ['-q', ...args], { timeout: 120_000 });
}

/** Whether rabbitmqctl works here (the suites skip loudly without it). */
export async function rabbitmqctlUsable(): Promise<boolean> {
  try {
    await rabbitmqctl('status');
    return true;
  } catch (e) {
    process.stderr.write(`\n!!! SKIPPED: rabbitmqctl is not usable here (${(e as Error).message}); the RabbitMQ restart tests need it.\n\n`);
    return false;
  }
}

/** Leaves RabbitMQ running and accepting connections, whatever happened before. */
export async function ensureRabbitMQUp(): Promise<void> {
  // start_app is a no-op on a running broker and fails fast when the node itself is down.
  await rabbitmqctl('start_app').catch(() => run('rabbitmq-server', ['-detached'], { timeout: 60_000 }));
  await until(() => reachable('127.0.0.1', 5672), () => 'RabbitMQ to accept connections on 5672 again', 120_000);
  await rabbitmqctl('await_startup');
}

/** Stops the whole node and starts it again as the machine does. */
export async function restartRabbitMQNode(): Promise<void> {
  await rabbitmqctl('stop');
  // stop returns once the node agreed to stop; a new node must not start beside the exiting VM.
  const vmGone = () => run('pgrep', ['-u', 'rabbitmq', 'beam.smp']).then(() => false, () => true);
  await until(vmGone, () => "the RabbitMQ node's VM to exit", 60_000);
  await ensureRabbitMQUp();
}

/** Deletes a durable, never auto-deleted queue and exchange a test declared. */
export async function deleteRabbitMQTopology(queue: string, exchange: string): Promise<void> {
  const conn = await connect(RABBITMQ_URL);
  try {
    const ch = await conn.createChannel();
    await ch.deleteQueue(queue);
    await ch.deleteExchange(exchange);
  } finally {
    await conn.close();
  }
}
