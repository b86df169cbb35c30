// "A backend goes away" for every networked component, on the built binary: one sidecar reaches
// the machine's Redis, PostgreSQL, RabbitMQ, NATS and Mosquitto through TCP proxies this test owns
// (helpers/tcp-cut.ts), so cutting one disturbs nobody else. Per backend:
// - before: every call works, and each subscription / input binding delivers;
// - cut (connections reset, the port refuses): every call fails with its Dapr error code and the
//   backend's reason, within a bound (no hang, no crash), and the sidecar stays healthy;
// - restored: every call works again and each subscription / input binding delivers again, without
//   restarting the sidecar.
// The same with the backend stalled (a partition: nothing answers, nothing is refused) checks that
// every call still fails within its component's own bound. Each step prints what it saw.
import { randomBytes } from 'node:crypto';
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Client } from 'pg';
import { requireService } from '../../test/services';
import { sleep, until } from '../../test/wait';
import { TcpCut } from '../helpers/tcp-cut';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';
import { type AppSubscription, RecordingApp } from './recording-app';

/** A call that fails longer than this is a hang (each component's own bound is well below it). */
const HANG_MS = 45_000;
const RECOVER_MS = 45_000;
const run = `cut-${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;

interface Answer {
  status: number;
  body: { errorCode?: string; message?: string } | undefined;
  ms: number;
}

interface Call {
  what: string;
  /** The errorCode while the backend is away. */
  code: string;
  send: (sc: Sidecar) => Promise<Answer>;
}

/** A delivery path: `send` makes an event reach the app under `route` (a subscription or an input binding). */
interface Delivery {
  what: string;
  route: string;
  /** What the app declares for it (subscriptions only; input bindings post to their name). */
  subscription?: AppSubscription;
  send: (sc: Sidecar, marker: string) => Promise<Answer>;
}

interface Backend {
  name: string;
  port: number;
  proxy?: TcpCut;
  components: (address: string) => Record<string, string>;
  /** The backend's reason in every failing call's message, cut and stalled. */
  reasons: { cut: RegExp; stalled: RegExp };
  calls: Call[];
  deliveries: Delivery[];
}

async function http(sc: Sidecar, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Answer> {
  const started = Date.now();
  const r = await fetch(`http://127.0.0.1:${sc.httpPort}${path}`, {
    method,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': contentType },
    signal: AbortSignal.timeout(HANG_MS),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined, ms: Date.now() - started };
}

const saveState = (store: string): Call => ({
  what: `state save (${store})`,
  code: 'ERR_STATE_SAVE',
  send: (sc) => http(sc, 'POST', `/v1.0/state/${store}`, [{ key: `${run}-k`, value: 'v' }]),
});
const getState = (store: string): Call => ({
  what: `state get (${store})`,
  code: 'ERR_STATE_GET',
  send: (sc) => http(sc, 'GET', `/v1.0/state/${store}/${run}-k`),
});
const publish = (pubsub: string, topic: string): Call => ({
  what: `publish (${pubsub})`,
  code: 'ERR_PUBSUB_PUBLISH_MESSAGE',
  send: (sc) => http(sc, 'POST', `/v1.0/publish/${pubsub}/${topic}`, 'probe', 'text/plain'),
});
const binding = (name: string, operation: string, data: unknown, metadata: Record<string, string> = {}): Call => ({
  what: `output binding ${operation} (${name})`,
  code: 'ERR_INVOKE_OUTPUT_BINDING',
  send: (sc) => http(sc, 'POST', `/v1.0/bindings/${name}`, { operation, data, metadata }),
});
const subscription = (pubsub: string, topic: string): Delivery => ({
  what: `subscription (${pubsub})`,
  route: `${pubsub}-events`,
  subscription: { pubsubname: pubsub, topic, route: `${pubsub}-events` },
  send: (sc, marker) => http(sc, 'POST', `/v1.0/publish/${pubsub}/${topic}`, marker, 'text/plain'),
});
const inputBinding = (name: string): Delivery => ({
  what: `input binding (${name})`,
  route: name,
  send: (sc, marker) => http(sc, 'POST', `/v1.0/bindings/${name}`, { operation: 'create', data: marker }),
});

const topic = (b: string) => `${run}-${b}`;

const BACKENDS: Backend[] = [
  {
    name: 'redis',
    port: 6379,
    components: (a) => ({
      'redis-state.yaml': componentYaml('redis-state', 'state.redis', { redisHost: a }),
      'redis-pubsub.yaml': componentYaml('redis-pubsub', 'pubsub.redis', { redisHost: a, processingTimeout: '2s', redeliverInterval: '500ms' }),
      'redis-lock.yaml': componentYaml('redis-lock', 'lock.redis', { redisHost: a }),
      'redis-binding.yaml': componentYaml('redis-binding', 'bindings.redis', { redisHost: a }),
    }),
    reasons: { cut: /redis at 127\.0\.0\.1:\d+ is unreachable: connect ECONNREFUSED/, stalled: /no answer from redis at 127\.0\.0\.1:\d+ within 3000 ms \(readTimeout\)/ },
    calls: [
      saveState('redis-state'),
      getState('redis-state'),
      publish('redis-pubsub', topic('redis')),
      {
        what: 'lock (redis-lock)',
        code: 'ERR_TRY_LOCK',
        send: (sc) => http(sc, 'POST', '/v1.0-alpha1/lock/redis-lock', { resourceId: `${run}-r`, lockOwner: `o-${Date.now()}`, expiryInSeconds: 1 }),
      },
      binding('redis-binding', 'create', 'v', { key: `${run}-b` }),
    ],
    deliveries: [subscription('redis-pubsub', topic('redis'))],
  },
  {
    name: 'postgresql',
    port: 5432,
    components: (a) => {
      const [host, port] = a.split(':');
      const dsn = `host=${host} port=${port} user=postgres dbname=test sslmode=disable`;
      return {
        'pg-state.yaml': componentYaml('pg-state', 'state.postgresql', { connectionString: dsn, tableName: 'faults_state', timeout: '5s' }),
        'pg-binding.yaml': componentYaml('pg-binding', 'bindings.postgresql', { connectionString: dsn, timeout: '5s' }),
      };
    },
    reasons: { cut: /connect ECONNREFUSED 127\.0\.0\.1:\d+/, stalled: /Query read timeout|Connection terminated due to connection timeout/ },
    calls: [saveState('pg-state'), getState('pg-state'), binding('pg-binding', 'query', '', { sql: 'SELECT 1' })],
    deliveries: [],
  },
  {
    name: 'rabbitmq',
    port: 5672,
    components: (a) => ({
      'rabbit-pubsub.yaml': componentYaml('rabbit-pubsub', 'pubsub.rabbitmq', { connectionString: `amqp://guest:guest@${a}`, durable: 'false', deletedWhenUnused: 'true', reconnectWait: '500ms', requeueInFailure: 'true' }),
      'rabbit-binding.yaml': componentYaml('rabbit-binding', 'bindings.rabbitmq', { host: `amqp://guest:guest@${a}`, queueName: `${run}-q`, deleteWhenUnused: 'true', reconnectWaitInSeconds: '1' }),
    }),
    reasons: { cut: /not connected to amqp:\/\/127\.0\.0\.1:\d+ \(reconnecting; waited \d+ ms\)/, stalled: /no confirm from amqp:\/\/127\.0\.0\.1:\d+ within \d+ ms/ },
    calls: [publish('rabbit-pubsub', topic('rabbit')), binding('rabbit-binding', 'create', 'probe')],
    deliveries: [subscription('rabbit-pubsub', topic('rabbit')), inputBinding('rabbit-binding')],
  },
  {
    name: 'nats',
    port: 4222,
    components: (a) => ({
      'nats-pubsub.yaml': componentYaml('nats-pubsub', 'pubsub.jetstream', { natsURL: `nats://${a}`, streamName: run, ackWait: '2s' }),
    }),
    reasons: { cut: /no acknowledgement from JetStream within 5000 ms \(disconnected/, stalled: /no acknowledgement from JetStream within 5000 ms/ },
    calls: [publish('nats-pubsub', topic('nats'))],
    deliveries: [subscription('nats-pubsub', topic('nats'))],
  },
  {
    name: 'mosquitto',
    port: 1883,
    components: (a) => ({
      'mqtt-pubsub.yaml': componentYaml('mqtt-pubsub', 'pubsub.mqtt3', { url: `tcp://${a}`, consumerID: `${run}-ps`, cleanSession: 'true' }),
      'mqtt-binding.yaml': componentYaml('mqtt-binding', 'bindings.mqtt3', { url: `tcp://${a}`, topic: `${run}/binding`, consumerID: `${run}-b`, cleanSession: 'true' }),
    }),
    reasons: { cut: /no answer from the broker within 20s publishing to .* \(not connected: reconnecting\)/, stalled: /no answer from the broker within 20s publishing to/ },
    calls: [publish('mqtt-pubsub', topic('mqtt')), binding('mqtt-binding', 'create', 'probe')],
    deliveries: [subscription('mqtt-pubsub', topic('mqtt')), inputBinding('mqtt-binding')],
  },
];

const log = (line: string) => process.stdout.write(`${line}\n`);

describe('backends going away (TCP cut and stall), one sidecar, no restart', () => {
  const live: Backend[] = [];
  const app = new RecordingApp(BACKENDS.flatMap((b) => b.deliveries.flatMap((d) => (d.subscription ? [d.subscription] : []))));
  let sc: Sidecar | undefined;
  let markers = 0;

  beforeAll(async () => {
    for (const b of BACKENDS) {
      if (!(await requireService(b.name, '127.0.0.1', b.port))) continue;
      b.proxy = await TcpCut.start({ port: b.port });
      live.push(b);
    }
    if (live.length === 0) return;
    await app.start();
    const resources = Object.assign({}, ...live.map((b) => b.components(b.proxy!.address))) as Record<string, string>;
    sc = await startSidecar({ appId: `${run}-app`, resources, args: ['--app-port', String(app.port)] });
  }, 120_000);

  afterAll(async () => {
    await sc?.stop();
    await app.stop();
    for (const b of live) await b.proxy!.close();
    if (live.some((b) => b.name === 'postgresql')) {
      const db = new Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
      await db.connect();
      await db.query('DROP TABLE IF EXISTS faults_state');
      await db.end();
    }
    if (live.some((b) => b.name === 'nats')) {
      const nc = await natsConnect({ servers: '127.0.0.1:4222' });
      await (await jetstreamManager(nc)).streams.delete(run).catch(() => undefined);
      await nc.close();
    }
  }, 60_000);

  /** Sends a fresh marker until one arrives (a resubscription may land a little after the reconnect). */
  async function delivers(d: Delivery): Promise<number> {
    const started = Date.now();
    const deadline = started + RECOVER_MS;
    const sent: string[] = [];
    while (Date.now() < deadline) {
      const marker = `${run}-m${markers++}`;
      const r = await d.send(sc!, marker).catch(() => undefined);
      if (r && r.status < 300) sent.push(marker);
      const waitEnd = Date.now() + 2000;
      while (Date.now() < waitEnd) {
        // A binding's body is the request's data as JSON (a string arrives quoted).
        if (sent.some((m) => app.got(d.route).some((g) => g.includes(m)))) return Date.now() - started;
        await sleep(50);
      }
    }
    throw new Error(`${d.what}: nothing delivered within ${RECOVER_MS} ms (sent ${sent.length}, got ${app.got(d.route).length})`);
  }

  async function succeeds(c: Call): Promise<number> {
    const started = Date.now();
    let last: Answer | undefined;
    await until(
      async () => {
        last = await c.send(sc!).catch(() => undefined);
        return last !== undefined && last.status < 300;
      },
      () => `${c.what} to work again, last answer ${JSON.stringify(last)}`,
      RECOVER_MS,
    );
    return Date.now() - started;
  }

  async function failsClearly(b: Backend, c: Call, mode: 'cut' | 'stalled'): Promise<void> {
    const r = await c.send(sc!);
    log(`  ${b.name} ${mode}: ${c.what} -> ${r.status} ${r.body?.errorCode} in ${r.ms} ms: ${r.body?.message}`);
    expect(r.status).toBe(500);
    expect(r.body?.errorCode).toBe(c.code);
    expect(r.body?.message).toMatch(b.reasons[mode]);
  }

  async function healthy(): Promise<void> {
    expect(sc!.proc.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${sc!.httpPort}/v1.0/healthz`)).status).toBe(204);
  }

  for (const b of BACKENDS) {
    const test = (name: string, fn: () => Promise<void>) => it(`${b.name}: ${name}`, () => (b.proxy ? fn() : Promise.resolve()), 240_000);

    const recovers = async () => {
      for (const c of b.calls) log(`  ${b.name} restored: ${c.what} works again after ${await succeeds(c)} ms`);
      for (const d of b.deliveries) log(`  ${b.name} restored: ${d.what} delivers again after ${await delivers(d)} ms`);
      await healthy();
    };

    test('works before, fails clearly while cut, and recovers once restored', async () => {
      for (const c of b.calls) await succeeds(c);
      for (const d of b.deliveries) await delivers(d);

      await b.proxy!.cut();
      try {
        await Promise.all(b.calls.map((c) => failsClearly(b, c, 'cut')));
        await healthy();
      } finally {
        await b.proxy!.restore();
      }
      await recovers();
    });

    test('fails within a bound while stalled (a partition), and recovers once restored', async () => {
      await b.proxy!.stall();
      try {
        await Promise.all(b.calls.map((c) => failsClearly(b, c, 'stalled')));
        await healthy();
      } finally {
        await b.proxy!.restore();
      }
      await recovers();
    });
  }

  it('the sidecar logged no unhandled rejection or crash', () => {
    if (!sc) return;
    expect(sc.output()).not.toMatch(/unhandled rejection|uncaught/i);
  });
});
