// Pub/sub benchmark (npm run bench:pubsub): builds and starts the sidecar with a pubsub.redis and a
// pubsub.rabbitmq component and an app (pubsub-receiver.mjs, its own process), then measures in one
// run (1) publish throughput, direct to the broker (ioredis XADD, amqplib confirm channel) against
// the sidecar's three APIs, with the same forked load generator as the other benchmarks, and
// (2) publish-to-delivery latency at a fixed rate, direct consumer against sidecar -> app.
// Prints the tables and writes RESULTS-pubsub.md. Options:
//   --concurrency 32  --warmup 2  --duration 5        closed-loop throughput (seconds)
//   --rate 200  --latency-warmup 1  --latency-duration 5   fixed-rate delivery latency
//   --only direct-xadd,http-redis,lat-direct-redis     run a subset (then RESULTS-pubsub.md is not written unless --out)
//   --skip-build  --out FILE
import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect as amqpConnect } from 'amqplib';
import { freePort, httpStatus, spawnNode, waitUntil } from './procs.mjs';
import { checkoutState, machineLine, refTable } from './report.mjs';
import { prepare, runLoad, safeCpu } from './runload.mjs';
import { EXCHANGE, PAYLOAD_BYTES, payload } from './targets-pubsub.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const APP_ID = 'bench-pubsub';
const REDIS_PORT = 6379;
const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
const REDIS_PS = 'redis-pubsub';
const RABBIT_PS = 'rabbitmq-pubsub';

const { values: opt } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '32' },
    warmup: { type: 'string', default: '2' },
    duration: { type: 'string', default: '5' },
    rate: { type: 'string', default: '200' },
    'latency-warmup': { type: 'string', default: '1' },
    'latency-duration': { type: 'string', default: '5' },
    only: { type: 'string' },
    'skip-build': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const config = {
  concurrency: Number(opt.concurrency),
  warmupMs: Number(opt.warmup) * 1000,
  durationMs: Number(opt.duration) * 1000,
  rate: Number(opt.rate),
  latWarmupMs: Number(opt['latency-warmup']) * 1000,
  latDurationMs: Number(opt['latency-duration']) * 1000,
  cores: os.cpus().length,
};
const only = opt.only ? new Set(opt.only.split(',')) : undefined;
const outFile = opt.out ? resolve(opt.out) : only ? undefined : join(HERE, 'RESULTS-pubsub.md');
const loadAtStart = os.loadavg()[0];
// Unique per run: every stream, exchange and queue name starts with PREFIX, and all are removed at the end.
const RUN = Date.now().toString(36);
const PREFIX = `bench-pubsub-${RUN}`;
const topicOf = (id) => `${PREFIX}-${id}`;

const THROUGHPUT = [
  { id: 'direct-xadd', title: 'direct Redis XADD (ioredis)', kind: 'redis', broker: 'redis' },
  { id: 'http-redis', title: 'sidecar Dapr HTTP publish → pubsub.redis', kind: 'http', broker: 'redis', ref: 'direct-xadd' },
  { id: 'dapr-grpc-redis', title: 'sidecar Dapr gRPC PublishEvent → pubsub.redis', kind: 'dapr-grpc', broker: 'redis', ref: 'direct-xadd' },
  { id: 'layotto-grpc-redis', title: 'sidecar Layotto gRPC PublishEvent → pubsub.redis', kind: 'layotto-grpc', broker: 'redis', ref: 'direct-xadd' },
  { id: 'direct-amqp', title: 'direct RabbitMQ publish + confirm (amqplib)', kind: 'amqp', broker: 'rabbitmq' },
  { id: 'http-rabbitmq', title: 'sidecar Dapr HTTP publish → pubsub.rabbitmq', kind: 'http', broker: 'rabbitmq', ref: 'direct-amqp' },
];
const LATENCY = [
  { id: 'lat-direct-redis', title: 'direct: XADD → XREADGROUP BLOCK consumer', kind: 'redis', broker: 'redis' },
  { id: 'lat-http-redis', title: 'sidecar: HTTP publish → pubsub.redis → app', kind: 'http', broker: 'redis', ref: 'lat-direct-redis' },
  { id: 'lat-direct-amqp', title: 'direct: amqplib publish + confirm → consumer', kind: 'amqp', broker: 'rabbitmq' },
  { id: 'lat-http-rabbitmq', title: 'sidecar: HTTP publish → pubsub.rabbitmq → app', kind: 'http', broker: 'rabbitmq', ref: 'lat-direct-amqp' },
];

const log = (msg) => process.stderr.write(`[bench:pubsub] ${msg}\n`);
const began = Date.now();
const notes = [];
let sidecar;
let receiver;
let cleanup = async () => undefined;

async function stopAll() {
  await Promise.all([sidecar?.stop(), stopReceiver()]);
  await cleanup();
}
// Every loop stops by itself; this only guards against a hung child process or broker.
const watchdog = setTimeout(async () => {
  log('watchdog: the run took over 3 minutes, stopping');
  await Promise.race([stopAll(), sleep(15_000)]);
  process.exit(1);
}, 3 * 60_000);
watchdog.unref();

// ---- the receiver process (app + direct consumers) ----
let nextId = 0;
const waiting = new Map();
function ask(cmd, timeoutMs = 30_000) {
  const id = ++nextId;
  return new Promise((res, rej) => {
    const t = setTimeout(() => {
      waiting.delete(id);
      rej(new Error(`receiver: no answer to ${cmd.cmd} in ${timeoutMs} ms`));
    }, timeoutMs);
    waiting.set(id, (m) => {
      clearTimeout(t);
      if (m.ok) res(m);
      else rej(new Error(`receiver ${cmd.cmd}: ${m.error}`));
    });
    receiver.send({ ...cmd, id });
  });
}
async function startReceiver(port, subscriptions) {
  receiver = fork(join(HERE, 'pubsub-receiver.mjs'), [String(port), JSON.stringify(subscriptions)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  receiver.on('message', (m) => waiting.get(m.id)?.(m));
  await new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error('receiver did not start')), 10_000);
    receiver.once('exit', (code) => rej(new Error(`receiver exited with ${code}`)));
    receiver.on('message', (m) => m.type === 'listening' && (clearTimeout(t), res()));
  });
}
async function stopReceiver() {
  const r = receiver;
  receiver = undefined;
  if (!r || r.exitCode !== null || r.signalCode !== null) return;
  const exited = new Promise((res) => r.once('exit', res));
  receiver = r;
  await ask({ cmd: 'stop' }, 5000).catch(() => undefined);
  receiver = undefined;
  const t = setTimeout(() => r.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}

// ---- RabbitMQ bookkeeping (one admin connection of the orchestrator) ----
let amqp;
/** The admin connection, redialed (for up to waitMs) when the broker dropped it, e.g. restarted by a test. */
async function amqpAdmin(waitMs = 20_000) {
  if (amqp && !amqp.lost) return amqp;
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const c = await amqpConnect(AMQP_URL);
      c.on('error', () => undefined);
      c.on('close', () => (c.lost = true));
      amqp = c;
      return c;
    } catch (e) {
      if (Date.now() >= deadline) throw e;
      await sleep(500);
    }
  }
}

/** Runs fn on a fresh channel (a failed AMQP call closes its channel); errors are returned, not thrown. */
async function onChannel(fn, waitMs) {
  let ch;
  try {
    ch = await (await amqpAdmin(waitMs)).createChannel();
    ch.on('error', () => undefined);
    return await fn(ch);
  } catch (e) {
    return e;
  } finally {
    await ch?.close().catch(() => undefined);
  }
}

/** The pid listening on a local TCP port (for CPU sampling of RabbitMQ), or null. */
function listenerPid(port) {
  try {
    const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const m = /pid=(\d+)/.exec(out);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

const pkgVersion = (name) => {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
};

const component = (name, type, md) =>
  `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: ${type}\n  version: v1\n  metadata:\n${Object.entries(md)
    .map(([k, v]) => `  - name: ${k}\n    value: "${v}"\n`)
    .join('')}`;

async function main() {
  const { redis, redisVersion, pids } = await prepare({ root: ROOT, redisPort: REDIS_PORT, skipBuild: opt['skip-build'], log });
  const resDir = mkdtempSync(join(os.tmpdir(), 'layotto-ts-bench-pubsub-'));
  const streams = new Set();
  const queues = new Set();
  const exchanges = new Set();
  cleanup = async () => {
    cleanup = async () => undefined;
    for (const s of streams) await redis.del(s).catch(() => undefined);
    // Anything else of this run (a stream a failed step created before it was noted).
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000).catch(() => ['0', []]);
      if (keys.length) await redis.del(...keys).catch(() => undefined);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
    if (amqp) {
      for (const q of queues) await onChannel((ch) => ch.deleteQueue(q), 5000);
      for (const x of exchanges) await onChannel((ch) => ch.deleteExchange(x), 5000);
      if (!amqp.lost) await amqp.close().catch(() => undefined);
    }
    rmSync(resDir, { recursive: true, force: true });
  };

  // RabbitMQ rows need the component (another change adds it) and a broker on 5672.
  const builtin = readFileSync(join(ROOT, 'src', 'components', 'builtin.ts'), 'utf8');
  let rabbitVersion;
  let withRabbit = /pubsubRegistry\.register\([^)]*'rabbitmq'/.test(builtin);
  if (!withRabbit) notes.push('RabbitMQ rows left out: `pubsub.rabbitmq` is not registered in src/components/builtin.ts yet.');
  else {
    try {
      await amqpAdmin(3000);
      rabbitVersion = String(amqp.connection.serverProperties.version ?? '?');
      pids.rabbitmq = listenerPid(5672);
    } catch (e) {
      withRabbit = false;
      notes.push(`RabbitMQ rows left out: no broker at ${AMQP_URL.replace(/\/\/.*@/, '//')} (${e.message}).`);
    }
  }
  const wanted = (t) => (withRabbit || t.broker !== 'rabbitmq') && (!only || only.has(t.id));
  const throughputTargets = THROUGHPUT.filter(wanted);
  const latencyTargets = LATENCY.filter(wanted);

  // Sidecar resources: one component per broker; the app subscribes to the two sidecar latency topics.
  writeFileSync(join(resDir, 'redis.yaml'), component(REDIS_PS, 'pubsub.redis', { redisHost: `127.0.0.1:${REDIS_PORT}`, consumerID: APP_ID }));
  if (withRabbit) writeFileSync(join(resDir, 'rabbitmq.yaml'), component(RABBIT_PS, 'pubsub.rabbitmq', { connectionString: AMQP_URL, consumerID: APP_ID }));
  const subscriptions = latencyTargets
    .filter((t) => t.kind === 'http')
    .map((t) => ({ pubsubname: t.broker === 'redis' ? REDIS_PS : RABBIT_PS, topic: topicOf(t.id), route: '/deliver' }));
  for (const t of latencyTargets) {
    if (t.broker === 'redis') streams.add(topicOf(t.id));
    else {
      exchanges.add(topicOf(t.id));
      queues.add(t.kind === 'amqp' ? `${topicOf(t.id)}-direct` : `${APP_ID}-${topicOf(t.id)}`); // sidecar: "{consumerID}-{topic}"
    }
  }

  const [appPort, httpPort, grpcPort, layottoPort, metricsPort] = await Promise.all(Array.from({ length: 5 }, freePort));
  await startReceiver(appPort, subscriptions);
  const args = [
    '--app-id', APP_ID,
    '--app-port', String(appPort),
    '--dapr-http-port', String(httpPort),
    '--dapr-grpc-port', String(grpcPort),
    '--layotto-grpc-port', String(layottoPort),
    '--actuator-port', '0',
    '--metrics-port', String(metricsPort),
    '--dapr-listen-addresses', '127.0.0.1',
    '--resources-path', resDir,
    '--log-level', 'warn',
  ];
  sidecar = spawnNode([join(ROOT, 'dist', 'main.js'), ...args], { cwd: ROOT });
  pids.sidecar = sidecar.proc.pid;
  await waitUntil('sidecar', sidecar, async () => (await httpStatus(`http://127.0.0.1:${httpPort}/v1.0/healthz`)) === 204);
  // Subscriptions are live once a probe published through the sidecar reaches the app.
  for (const s of subscriptions) {
    await waitUntil(`delivery of a probe on ${s.pubsubname}`, sidecar, async () => {
      if ((await ask({ cmd: 'seen', topic: s.topic })).probes > 0) return true;
      const body = payload(-1);
      const r = await fetch(`http://127.0.0.1:${httpPort}/v1.0/publish/${s.pubsubname}/${s.topic}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(2000) });
      await r.arrayBuffer();
      await sleep(200);
      return (await ask({ cmd: 'seen', topic: s.topic })).probes > 0;
    }, 20_000);
  }
  log('sidecar healthy, subscriptions delivering');
  // Baseline: the sidecar's CPU while idle with its subscriptions open (blocking reads, timers).
  const idle0 = { cpu: safeCpu(pids.sidecar), t: performance.now() };
  await sleep(2000);
  const idleCpu = ((safeCpu(pids.sidecar) - idle0.cpu) / ((performance.now() - idle0.t) / 1000)) * 100;

  const ports = { redis: REDIS_PORT, http: httpPort, 'dapr-grpc': grpcPort, 'layotto-grpc': layottoPort };
  const specOf = (t, topic) => ({ kind: t.kind, port: ports[t.kind], url: AMQP_URL, topic, pubsub: t.broker === 'redis' ? REDIS_PS : RABBIT_PS, connections: config.concurrency });
  // runLoad samples pids.redis as "the broker": point it at RabbitMQ for the RabbitMQ rows.
  const pidsFor = (t) => ({ ...pids, redis: t.broker === 'redis' ? pids.redis : pids.rabbitmq });

  // ---- 1. publish throughput (closed loop) ----
  const rows = [];
  for (const t of throughputTargets) {
    const topic = topicOf(t.id);
    if (t.broker === 'redis') streams.add(topic);
    else {
      // A queue bound to the exchange, so every publish is routed and enqueued (bounded length,
      // oldest dropped); exchange flags as pubsub.rabbitmq declares them.
      const sink = `${topic}-sink`;
      exchanges.add(topic);
      queues.add(sink);
      const err = await onChannel(async (ch) => {
        await ch.assertExchange(topic, EXCHANGE.kind, EXCHANGE.options);
        await ch.assertQueue(sink, { durable: false, arguments: { 'x-max-length': 20_000 } });
        await ch.bindQueue(sink, topic, '');
      });
      if (err) throw new Error(`declaring ${sink}: ${err.message}`);
    }
    log(`throughput: ${t.title}`);
    const job = { targets: './targets-pubsub.mjs', mode: 'closed', spec: specOf(t, topic), concurrency: config.concurrency, warmupMs: config.warmupMs, durationMs: config.durationMs };
    const r = { ...t, ...(await runLoad(job, pidsFor(t), t.kind === 'redis' || t.kind === 'amqp' ? null : 'sidecar')) };
    // Bytes the broker holds per message (data field / AMQP body), then free the memory at once.
    if (t.broker === 'redis') {
      const [entry] = await redis.xrangeBuffer(topic, '-', '+', 'COUNT', 1);
      const f = entry?.[1] ?? [];
      const i = f.findIndex((b) => b.toString() === 'data');
      r.storedBytes = i >= 0 ? f[i + 1].length : undefined;
      await redis.del(topic);
    } else {
      const got = await onChannel((ch) => ch.get(`${topic}-sink`, { noAck: true }));
      r.storedBytes = got && !(got instanceof Error) ? got.content.length : undefined;
      await onChannel((ch) => ch.purgeQueue(`${topic}-sink`));
    }
    rows.push(r);
    if (r.errors > 0) notes.push(`${t.title}: ${r.errors} failed publishes in the measured window (first: ${r.firstError}); that row is not comparable (was the broker restarted meanwhile?).`);
  }

  // ---- 2. publish-to-delivery latency (open loop, fixed rate) ----
  const warm = Math.round((config.rate * config.latWarmupMs) / 1000);
  const total = warm + Math.round((config.rate * config.latDurationMs) / 1000);
  const lat = [];
  for (const t of latencyTargets) {
    const topic = topicOf(t.id);
    if (t.kind === 'redis') await ask({ cmd: 'redis', redisPort: REDIS_PORT, stream: topic, group: 'bench-direct' });
    if (t.kind === 'amqp') await ask({ cmd: 'amqp', url: AMQP_URL, exchange: topic, queue: `${topic}-direct` });
    log(`latency at ${config.rate}/s: ${t.title}`);
    const job = { targets: './targets-pubsub.mjs', mode: 'open', spec: { ...specOf(t, topic), connections: 8 }, rate: config.rate, warmupMs: config.latWarmupMs, durationMs: config.latDurationMs };
    const pub = await runLoad(job, pidsFor(t), t.kind === 'http' ? 'sidecar' : null);
    const got = await ask({ cmd: 'stats', topic, total, warm, timeoutMs: 15_000 }, 30_000);
    lat.push({ ...t, pub, got });
    if (pub.errors > 0 || got.missingCount > 0 || got.bad > 0) {
      throw new Error(
        `${t.title}: ${total} published (${pub.errors} publish errors: ${pub.firstError ?? '-'}), ${got.delivered} delivered, ${got.missingCount} missing (first: ${got.missing.join(',')}), ${got.bad} unreadable`,
      );
    }
  }

  await stopAll();

  // ---- report ----
  const { commit, dirty } = checkoutState(ROOT);
  const machine = machineLine(loadAtStart);
  const versions = `Node ${process.version}, Redis ${redisVersion}${rabbitVersion ? `, RabbitMQ ${rabbitVersion}` : ''}; ioredis ${pkgVersion('ioredis')}, amqplib ${pkgVersion('amqplib')}, undici ${pkgVersion('undici')}, @grpc/grpc-js ${pkgVersion('@grpc/grpc-js')}; layotto-ts ${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version} at ${commit}${dirty ? ` + ${dirty} uncommitted paths under src/ (others' work in progress)` : ''}`;
  const extra = process.argv.slice(2).join(' ');
  const command = process.env.npm_lifecycle_event === 'bench:pubsub' ? `npm run bench:pubsub${extra ? ` -- ${extra}` : ''}` : `node ${relative(ROOT, process.argv[1])} ${extra}`.trim();
  const took = Math.round((Date.now() - began) / 1000);

  const f = (n, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : '–');
  const us = (pct, rps) => (pct / 100 / rps) * 1e6;
  const throughputTable = refTable(rows).replace('| redis CPU |', '| broker CPU |');
  const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
  const cpuTable = [
    '| target | bytes stored per message | sidecar µs/req | broker µs/req | generator µs/req | total µs/req | total vs direct | other CPU |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => {
      const parts = [r.ref ? r.serverCpu : 0, r.redisCpu, r.genCpu];
      const totalUs = parts.every(Number.isFinite) ? us(parts.reduce((a, b) => a + b, 0), r.rps) : NaN;
      r.totalUs = totalUs;
      const ref = byId[r.ref];
      return `| ${r.title} | ${r.storedBytes ?? '–'} | ${r.ref ? f(us(r.serverCpu, r.rps), 1) : '–'} | ${f(us(r.redisCpu, r.rps), 1)} | ${f(us(r.genCpu, r.rps), 1)} | ${f(totalUs, 1)} | ${ref ? `${f(totalUs / ref.totalUs)}×` : '1.00×'} | ${Number.isFinite(r.otherCpu) ? `${Math.round(Math.max(0, r.otherCpu))}%` : '–'} |`;
    }),
  ].join('\n');
  const latById = Object.fromEntries(lat.map((r) => [r.id, r]));
  const latencyTable = [
    '| path | published | delivered | duplicates | delivery p50 ms | delivery p99 ms | delivery max ms | added p50 / p99 ms | publish ack p50 / p99 ms | sidecar CPU | sidecar µs/msg | bytes delivered to the app |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...lat.map((r) => {
      const ref = latById[r.ref];
      return `| ${r.title} | ${total} | ${r.got.delivered} | ${r.got.dups} | ${f(r.got.p50, 3)} | ${f(r.got.p99, 3)} | ${f(r.got.max, 3)} | ${ref ? `+${f(r.got.p50 - ref.got.p50, 3)} / +${f(r.got.p99 - ref.got.p99, 3)}` : '–'} | ${f(r.pub.p50, 3)} / ${f(r.pub.p99, 3)} | ${ref ? `${Math.round(r.pub.serverCpu)}%` : '–'} | ${ref ? f(us(r.pub.serverCpu, config.rate), 0) : '–'} | ${r.got.bodyBytes ?? '–'} |`;
    }),
  ].join('\n');
  console.log(`\n## Publish throughput (closed loop, ${config.concurrency} concurrent)\n\n${throughputTable}\n\n${cpuTable}\n\n## Publish-to-delivery latency (${config.rate} msg/s)\n\n${latencyTable}\n`);

  if (!outFile) return;
  const ratio = (id) => (byId[id] && byId[byId[id].ref] ? `${f(byId[id].rps / byId[byId[id].ref].rps)}×` : '–');
  writeFileSync(
    outFile,
    `# Pub/sub benchmark results

- Date: ${new Date().toISOString()}
- Machine: ${machine}
- Versions: ${versions}
- Command: \`${command}\`
- Settings: throughput closed loop, ${config.concurrency} concurrent publishes, ${config.warmupMs / 1000} s warm-up + ${config.durationMs / 1000} s measured per target;
  latency open loop at ${config.rate} msg/s, ${config.latWarmupMs / 1000} s warm-up + ${config.latDurationMs / 1000} s measured (${total} messages per path, every one checked to arrive);
  payload a ${PAYLOAD_BYTES}-byte JSON document; whole run ${took} s including the build.

## Publish throughput (closed loop, ${config.concurrency} concurrent)

${throughputTable}

CPU per publish, all processes involved (µs of CPU time per acknowledged publish over the measured window):

${cpuTable}

- Direct rows: one ioredis connection doing \`XADD <topic> * data <payload> metadata {}\` (the entry layout pubsub.redis
  writes, without the envelope); one amqplib confirm channel doing \`publish\` to the topic's fanout exchange with a
  per-message confirm callback (the request ends on the broker ack covering its message), which is what the sidecar's
  pubsub.rabbitmq publisher does per request. The sidecar's own Redis client uses ioredis auto-pipelining; the direct one does not.
- RabbitMQ rows publish to an exchange with one bound queue (non-durable, non-persistent messages, \`x-max-length\` 20000),
  so every message is routed and enqueued on both paths.
- "vs direct" is req/s relative to the direct row of the same broker. CPU columns are % of one core over the measured
  window; "other CPU" is the rest of the machine (other jobs, kernel time not charged to a process); "broker CPU" is redis-server for the Redis rows and the RabbitMQ node (beam.smp) for the RabbitMQ rows.
- The sidecar writes more bytes than the direct path: it wraps each payload in a CloudEvent envelope (id, source, type,
  specversion, datacontenttype, topic, pubsubname, trace fields, time, data), see "bytes stored per message".

## Publish-to-delivery latency (open loop, ${config.rate} msg/s)

${latencyTable}

- The publisher (the same forked generator) writes its send time (\`process.hrtime.bigint()\`, the machine's monotonic
  clock) into the payload; the receiver, its own process, takes the arrival time when the message is in hand: after
  XREADGROUP returns (direct Redis, \`BLOCK 1000\`, \`COUNT 100\`, then \`XACK\`), in the amqplib consume callback (direct
  RabbitMQ, then ack), or when the sidecar's POST to the app has been read (sidecar rows; the app then answers
  200 \`{"status":"SUCCESS"}\`). Percentiles cover the measured window; warm-up messages are checked for arrival too.
- Sidecar rows: Dapr HTTP publish to the sidecar, which delivers to the app over HTTP (\`--app-port\`); "publish ack" is
  send to the publish response; "sidecar CPU" is its CPU use over the measured window at this rate (publish and
  delivery of every message), "sidecar µs/msg" the same per message. Idle with its subscriptions open, the sidecar used
  ${f(idleCpu, 1)}% of a core (measured over 2 s before the load).
${notes.length ? `\n## Notes\n\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''}
## Caveats

- Generator, sidecar, receiver and both brokers share the machine's ${config.cores} cores, so a throughput figure is this
  machine's limit for the whole stack, not the sidecar's alone; the µs/req columns are the steadier comparison.
  Other work on the box (e.g. test suites using the same Redis and RabbitMQ) skews single runs.
- The sidecar path does more work per message by design: a CloudEvent envelope (bigger writes, JSON built per request),
  an HTTP or gRPC hop, and on delivery a second HTTP hop to the app with an answer to parse.
`,
  );
  log(`wrote ${relative(ROOT, outFile)} (${took} s); HTTP→redis ${ratio('http-redis')}, Dapr gRPC→redis ${ratio('dapr-grpc-redis')}, Layotto gRPC→redis ${ratio('layotto-grpc-redis')}, HTTP→rabbitmq ${ratio('http-rabbitmq')}`);
}

main()
  .catch(async (e) => {
    log(`failed: ${e.stack ?? e}`);
    if (sidecar) log(`sidecar output:\n${sidecar.output().slice(-4000)}`);
    await Promise.race([stopAll(), sleep(15_000)]);
    process.exitCode = 1;
  })
  .finally(() => {
    clearTimeout(watchdog);
  });
