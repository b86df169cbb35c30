// The built sidecar started as Layotto is, `start -c config.json`, from a Layotto config.json with
// Redis state, pub/sub, lock and sequencer and a helloworld: everything served through the real
// `layotto` SDK, published events reaching a Layotto-SDK app on the config's grpc_callback_port.
// Lifecycle.ApplyConfiguration (the SDK has no call for it) through a grpc-js client on our protos.
// A broken config.json stops startup with its JSON path; an unknown section is one warning line.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadLayottoDefinition } from '../../src/api/layotto-grpc/protos';
import { requireService } from '../../test/services';
import { until } from '../../test/wait';
import { uniqueRun } from '../helpers/lock-backends';
import { freePort, MAIN, type Sidecar, startSidecar, waitHealthy } from '../helpers/sidecar';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Client, Server } = require('layotto') as typeof import('layotto');

const run = uniqueRun();
const REDIS = { redisHost: 'localhost:6379' };
const APP_ID = `layotto-cfg-${run}`;
const GRPC = 'servers[0].listeners[0].filter_chains[0].filters[0].config.grpc_config';
const quiet = { info() {}, warn() {}, error() {} };

/** A config.json shaped like Layotto's configs/config_standalone.json. */
function layottoConfig(layottoPort: number, grpcConfig: Record<string, unknown>): unknown {
  return {
    servers: [
      {
        default_log_path: 'stdout',
        default_log_level: 'INFO',
        routers: [{ router_config_name: 'actuator_dont_need_router' }],
        listeners: [
          {
            name: 'grpc',
            address: `127.0.0.1:${layottoPort}`,
            bind_port: true,
            filter_chains: [{ filters: [{ type: 'grpc', config: { server_name: 'runtime', grpc_config: grpcConfig } }] }],
            stream_filters: [{ type: 'grpc_metric' }],
          },
          {
            name: 'actuator',
            address: '127.0.0.1:34999',
            bind_port: true,
            filter_chains: [{ filters: [{ type: 'proxy', config: { downstream_protocol: 'Http1', upstream_protocol: 'Http1', router_config_name: 'actuator_dont_need_router' } }] }],
            stream_filters: [{ type: 'actuator_filter' }],
          },
        ],
      },
    ],
    tracing: { enable: false },
  };
}

type Lifecycle = grpc.Client & {
  ApplyConfiguration: (req: unknown, cb: (err: grpc.ServiceError | null) => void) => void;
};

function lifecycleClient(port: number): Lifecycle {
  const pkg = grpc.loadPackageDefinition(loadLayottoDefinition()) as unknown as { spec: { proto: { runtime: { v1: { Lifecycle: grpc.ServiceClientConstructor } } } } };
  return new pkg.spec.proto.runtime.v1.Lifecycle(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Lifecycle;
}

const apply = (c: Lifecycle, kind: string, name: string, metadata: Record<string, string>) =>
  new Promise<grpc.ServiceError | null>((resolve) => c.ApplyConfiguration({ component_config: { kind, name, metadata } }, (err) => resolve(err)));

describe('Layotto config.json: Redis state, pub/sub, lock and sequencer through the layotto SDK', () => {
  let enabled = false;
  let sc: Sidecar;
  let server: InstanceType<typeof Server>;
  let client: InstanceType<typeof Client>;
  let lifecycle: Lifecycle;
  const topic = `cfg-${run}`;
  const received: unknown[] = [];

  beforeAll(async () => {
    enabled = await requireService('redis', '127.0.0.1', 6379);
    if (!enabled) return;
    const appPort = await freePort();
    sc = await startSidecar({
      wait: false,
      layottoConfig: (port) =>
        layottoConfig(port, {
          hellos: { greeter: { type: 'helloworld', hello: 'greeting' } },
          state: { redis_state: { type: 'redis', metadata: REDIS } },
          pub_subs: { redis_pubsub: { type: 'redis', metadata: { ...REDIS, processingTimeout: '500ms', redeliverInterval: '100ms' } } },
          lock: { redis_lock: { type: 'redis', metadata: REDIS } },
          sequencer: { redis_seq: { type: 'redis', biggerThan: { [`order-${run}`]: 1000 }, metadata: REDIS } },
          config_stores: { etcd: { address: ['127.0.0.1:2379'] } },
          app: { app_id: APP_ID, grpc_callback_port: appPort },
        }),
    });
    server = new Server(String(appPort), undefined, { logger: quiet });
    server.pubsub.subscribe('redis_pubsub', topic, async (data) => void received.push(data));
    server.pubsub.addPubSubSubscription('redis_pubsub', topic);
    await server.start();
    await waitHealthy(sc);
    client = new Client(String(sc.layottoPort), '127.0.0.1');
    lifecycle = lifecycleClient(sc.layottoPort);
  });

  afterAll(async () => {
    client?.close();
    lifecycle?.close();
    await sc?.stop();
    await server?.close();
  });

  it('takes the app id and the Layotto port from the file and warns once about the unknown section', async () => {
    if (!enabled) return;
    const md = (await (await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/metadata`)).json()) as { id: string; components: { name: string; type: string }[] };
    expect(md.id).toBe(APP_ID);
    expect(md.components.map((c) => `${c.name}=${c.type}`).sort()).toEqual(['redis_lock=lock.redis', 'redis_pubsub=pubsub.redis', 'redis_seq=sequencer.redis', 'redis_state=state.redis']);
    const warnings = sc.output().split('\n').filter((l) => l.includes(`${GRPC}.config_stores`));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/level=warning|"level":"warn"|level=warn/);
    expect(warnings[0]).toContain('unknown section; ignored');
    expect(sc.output()).not.toContain('grpc_metric');
  });

  it('serves hello, state, lock and sequencer from the config.json components', async () => {
    if (!enabled) return;
    expect(await client.hello.sayHello({ serviceName: 'greeter', name: 'sdk' })).toBe('greeting, sdk');
    const key = `k-${run}`;
    await client.state.save({ storeName: 'redis_state', states: [{ key, value: 'from config.json' }] });
    expect(Buffer.from((await client.state.get({ storeName: 'redis_state', key }))!.value).toString()).toBe('from config.json');
    const lock = { storeName: 'redis_lock', resourceId: `r-${run}`, expire: 10 };
    expect(await client.lock.tryLock({ ...lock, lockOwner: 'a' })).toBe(true);
    expect(await client.lock.tryLock({ ...lock, lockOwner: 'b' })).toBe(false);
    expect(await client.lock.unLock({ ...lock, lockOwner: 'a' })).toMatchObject({ status: 0 });
    // biggerThan from the file: the first id is above 1000.
    const first = BigInt(await client.sequencer.getNextId({ storeName: 'redis_seq', key: `order-${run}` }));
    expect(first).toBeGreaterThan(1000n);
    expect(BigInt(await client.sequencer.getNextId({ storeName: 'redis_seq', key: `order-${run}` }))).toBeGreaterThan(first);
  });

  it('delivers a published event to the Layotto-SDK app on grpc_callback_port', async () => {
    if (!enabled) return;
    await client.pubsub.publish({ pubsubName: 'redis_pubsub', topic, data: { via: 'config.json' } });
    await until(() => received.length > 0, () => `an event on ${topic}`);
    expect(received[0]).toEqual({ via: 'config.json' });
  });

  it('ApplyConfiguration re-configures a live component; a failing one keeps the old', async () => {
    if (!enabled) return;
    expect(await apply(lifecycle, 'hellos', 'greeter', { hello: 'bonjour' })).toBeNull();
    expect(await client.hello.sayHello({ serviceName: 'greeter', name: 'sdk' })).toBe('bonjour, sdk');

    const bad = await apply(lifecycle, 'sequencer', 'redis_seq', { segmentStep: 'lots' });
    expect(bad?.code).toBe(grpc.status.INTERNAL);
    expect(bad?.details).toContain('metadata "segmentStep" must be a positive integer');
    expect(BigInt(await client.sequencer.getNextId({ storeName: 'redis_seq', key: `order-${run}` }))).toBeGreaterThan(1000n);

    const missing = await apply(lifecycle, 'lock', 'nope', { a: 'b' });
    expect([missing?.code, missing?.details]).toEqual([grpc.status.INVALID_ARGUMENT, 'component not found. kind: lock , name: nope']);
    const empty = await apply(lifecycle, 'lock', 'redis_lock', {});
    expect([empty?.code, empty?.details]).toEqual([grpc.status.INVALID_ARGUMENT, 'field metadata is not configured']);
  });

  it("answers the SDK's extension clients (here CryptionService) with UNIMPLEMENTED naming the rpc", async () => {
    if (!enabled) return;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { CryptionServiceClient } = require('layotto/proto/extension/v1/cryption/cryption_grpc_pb');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { EncryptRequest } = require('layotto/proto/extension/v1/cryption/cryption_pb');
    const c = new CryptionServiceClient(`127.0.0.1:${sc.layottoPort}`, grpc.credentials.createInsecure()) as grpc.Client & { encrypt: (r: unknown, cb: (e: grpc.ServiceError | null) => void) => void };
    const err = await new Promise<grpc.ServiceError | null>((resolve) => c.encrypt(new EncryptRequest(), resolve));
    c.close();
    expect([err?.code, err?.details]).toEqual([grpc.status.UNIMPLEMENTED, 'CryptionService/Encrypt is not implemented']);
  });
});

/** Runs `start -c <file>` with the given text and resolves with its exit code and output. */
async function startWith(text: string): Promise<{ code: number | null; out: string }> {
  const file = join(mkdtempSync(join(tmpdir(), 'layotto-ts-cfg-')), 'config.json');
  writeFileSync(file, text);
  const [http, grpcPort, metrics] = await Promise.all([freePort(), freePort(), freePort()]);
  const proc = spawn(process.execPath, [MAIN, 'start', '-c', file, '--dapr-http-port', String(http), '--dapr-grpc-port', String(grpcPort), '--metrics-port', String(metrics)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((res) => proc.once('exit', res));
  return { code, out };
}

describe('a broken config.json stops startup, naming the JSON path', () => {
  it('a wrong shape: exit 1, the path and line of the bad value, no stack trace', async () => {
    const text = JSON.stringify(layottoConfig(await freePort(), { state: { redis: { type: 'redis', metadata: 'redisHost=localhost' } } }), null, 2);
    const { code, out } = await startWith(text);
    expect(code).toBe(1);
    const line = text.split('\n').findIndex((l) => l.includes('"metadata": "redisHost=localhost"')) + 1;
    expect(out).toContain(`config.json:${line}: ${GRPC}.state.redis.metadata: expected an object`);
    expect(out).not.toMatch(/\n\s+at /);
  });

  it('bad JSON and an unsupported component type', async () => {
    const bad = await startWith('{\n  "servers": [\n    { "listeners": [ }\n  ]\n}\n');
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/config\.json:3: invalid JSON: /);
    const text = JSON.stringify(layottoConfig(await freePort(), { lock: { zk: { type: 'zookeeper', metadata: {} } } }), null, 2);
    const unsupported = await startWith(text);
    expect(unsupported.code).toBe(1);
    expect(unsupported.out).toContain("couldn't find component type lock.zookeeper/v1");
    expect(unsupported.out).toContain(`config.json:${text.split('\n').findIndex((l) => l.includes('"type": "zookeeper"')) + 1}: spec.type`);
  });
});
