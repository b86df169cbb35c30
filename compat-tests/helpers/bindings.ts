// Input-binding cases both SDK suites run against their app protocol: a built sidecar with an app
// port, a real @dapr/dapr DaprServer registering `server.binding.receive` handlers, and a DaprClient
// sending through output bindings. MQTT (Mosquitto 1883) and RabbitMQ (5672) cases run when the
// broker answers (they fail in CI when it does not); topics, queues and client ids are unique per run.
import { isDeepStrictEqual } from 'node:util';
import type { DaprServer } from '@dapr/dapr';
import { requireService } from '../../test/services';
import { until } from '../../test/wait';
import { uniqueRun } from './lock-backends';
import { type AppProtocol, type DaprApp, sdkClient, startDaprApp } from './pubsub';
import { componentYaml } from './sidecar';

export const MQTT_URL = 'tcp://127.0.0.1:1883';
export const RABBIT_URL = 'amqp://guest:guest@127.0.0.1:5672';

/** Events each binding handed the app (the SDK gives handlers the parsed body only). */
export class BindingInbox {
  readonly got = new Map<string, unknown[]>();

  of(name: string): unknown[] {
    return this.got.get(name) ?? [];
  }

  /** A receive callback that records, then throws for the first `failFirst` deliveries of equal data. */
  handler(name: string, failFirst = 0) {
    return async (data: unknown) => {
      this.got.set(name, [...this.of(name), data]);
      const nth = this.count(name, data);
      if (nth <= failFirst) throw new Error(`refusing delivery ${nth} of ${JSON.stringify(data)}`);
    };
  }

  /** Deliveries of `data` (compared deeply: the HTTP API re-marshals JSON with sorted keys, as Go does). */
  count(name: string, data: unknown): number {
    return this.of(name).filter((d) => isDeepStrictEqual(d, data)).length;
  }

  async waitFor(name: string, data: unknown, times = 1, ms = 15000): Promise<void> {
    await until(() => this.count(name, data) >= times, () => `${JSON.stringify(data)} ${times}x on ${name}, got ${JSON.stringify(this.of(name))}`, ms);
  }
}

export function inputBindingCases(protocol: AppProtocol): void {
  const run = `${uniqueRun()}-${protocol}`;
  const inbox = new BindingInbox();
  let app: DaprApp | undefined;
  const brokers = { mqtt: false, rabbit: false };

  beforeAll(async () => {
    brokers.mqtt = await requireService('mosquitto', '127.0.0.1', 1883);
    brokers.rabbit = await requireService('rabbitmq', '127.0.0.1', 5672);
    const resources: Record<string, string> = {
      'cron.yaml': componentYaml('tick', 'bindings.cron', { schedule: '@every 1s' }),
      // The app registers no handler for it: the probe says so and it never starts.
      'unheard.yaml': componentYaml('unheard', 'bindings.cron', { schedule: '@every 1s' }),
    };
    if (brokers.mqtt) {
      resources['mqtt.yaml'] = componentYaml('mqtt-io', 'bindings.mqtt3', { url: MQTT_URL, topic: `compat/bind/${run}`, consumerID: `bind-${run}`, cleanSession: 'true' });
    }
    if (brokers.rabbit) {
      const queue = (n: string) => ({ host: RABBIT_URL, queueName: `compat-bind-${run}-${n}`, deleteWhenUnused: 'true' });
      resources['rabbit.yaml'] = componentYaml('rabbit-io', 'bindings.rabbitmq', queue('io'));
      resources['rabbit-retry.yaml'] = componentYaml('rabbit-retry', 'bindings.rabbitmq', queue('retry'));
    }
    app = await startDaprApp({
      protocol,
      appId: `bind-${protocol}`,
      resources,
      subscribe: async (server: DaprServer) => {
        await server.binding.receive('tick', inbox.handler('tick'));
        if (brokers.mqtt) await server.binding.receive('mqtt-io', inbox.handler('mqtt-io'));
        if (brokers.rabbit) {
          await server.binding.receive('rabbit-io', inbox.handler('rabbit-io'));
          await server.binding.receive('rabbit-retry', inbox.handler('rabbit-retry', 2));
        }
      },
    });
  }, 60000);

  afterAll(async () => {
    await app?.stop();
  });

  const clients: AppProtocol[] = ['http', 'grpc'];

  it('cron @every 1s calls the app again and again', async () => {
    await until(() => inbox.of('tick').length >= 2, () => `2 cron events, got ${inbox.of('tick').length}`, 10000);
  });

  it('a binding the app does not listen to is not started', async () => {
    await until(() => app!.sc.output().includes('app has not subscribed to binding unheard'), () => 'the "not subscribed" log line', 5000);
    await until(() => inbox.of('tick').length >= 3, () => 'more cron ticks', 10000);
    expect(inbox.of('unheard')).toEqual([]);
  });

  for (const client of clients) {
    it(`MQTT: what a ${client} DaprClient sends through the binding comes back to the app through it`, async () => {
      if (!brokers.mqtt) return;
      const c = sdkClient(app!.sc, client);
      const msg = { via: client, n: 1, text: 'hello mqtt' };
      await c.binding.send('mqtt-io', 'create', msg);
      await inbox.waitFor('mqtt-io', msg);
    });

    it(`RabbitMQ: a ${client} DaprClient's create lands on the queue and reaches the app`, async () => {
      if (!brokers.rabbit) return;
      const c = sdkClient(app!.sc, client);
      const msgs = [1, 2, 3].map((n) => ({ via: client, n }));
      for (const m of msgs) await c.binding.send('rabbit-io', 'create', m, { ttlInSeconds: '60' });
      for (const m of msgs) await inbox.waitFor('rabbit-io', m);
      // Handed over one at a time, in order.
      expect(inbox.of('rabbit-io').filter((d) => (d as { via?: string }).via === client)).toEqual(msgs);
    });
  }

  it('RabbitMQ: an event the app refuses comes again until it is taken', async () => {
    if (!brokers.rabbit) return;
    const msg = { retry: true };
    await sdkClient(app!.sc, 'http').binding.send('rabbit-retry', 'create', msg);
    await inbox.waitFor('rabbit-retry', msg, 3);
    await new Promise((r) => setTimeout(r, 500));
    expect(inbox.of('rabbit-retry')).toHaveLength(3); // taken on the third: acked, not delivered again
  });
}
