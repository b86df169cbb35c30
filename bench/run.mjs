// State benchmark (npm run bench): builds the sidecar, starts it and the "floor" server against
// the local Redis, drives every target with the same forked load generator, and prints and
// writes the results. See bench/README.md. Options:
//   --concurrency 32  --warmup 2  --duration 10       closed-loop runs (seconds)
//   --rate 1000  --open-duration 10                   fixed-rate runs
//   --only http-get,floor-get,open-http-get           run a subset (then RESULTS.md is not written)
//   --skip-build  --out FILE  --profile DIR           (--profile: node --cpu-prof the sidecar and floor into DIR)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, httpStatus, rssMB, spawnNode, waitUntil } from './procs.mjs';
import { prepare, runLoad } from './runload.mjs';
import { closedTable, openTable, renderMarkdown, targetsTable } from './report.mjs';
import { KEYS, jsonValue, readKey, saveKey } from './targets.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const APP_ID = 'bench';
const STORE = 'statestore';
const REDIS_PORT = 6379;

const { values: opt } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '32' },
    warmup: { type: 'string', default: '2' },
    duration: { type: 'string', default: '10' },
    rate: { type: 'string', default: '1000' },
    'open-duration': { type: 'string', default: '10' },
    only: { type: 'string' },
    'skip-build': { type: 'boolean', default: false },
    out: { type: 'string' },
    profile: { type: 'string' },
  },
});
const config = {
  concurrency: Number(opt.concurrency),
  warmupMs: Number(opt.warmup) * 1000,
  durationMs: Number(opt.duration) * 1000,
  rate: Number(opt.rate),
  openWarmupMs: 1000,
  openDurationMs: Number(opt['open-duration']) * 1000,
  keys: KEYS,
  cores: os.cpus().length,
};
const only = opt.only ? new Set(opt.only.split(',')) : undefined;
const outFile = opt.out ?? (only || opt.profile ? undefined : join(HERE, 'RESULTS.md'));

// Closed-loop targets in run order. `server` names the process whose CPU is sampled.
const CLOSED = [
  { id: 'direct-get', title: 'direct Redis HGET (ioredis)', kind: 'redis', op: 'get', server: null },
  { id: 'direct-save', title: 'direct Redis HSET (ioredis)', kind: 'redis', op: 'save', server: null },
  { id: 'floor-get', title: 'floor: fastify + ioredis, HTTP GET', kind: 'http', op: 'get', server: 'floor' },
  { id: 'http-get', title: 'sidecar Dapr HTTP GET', kind: 'http', op: 'get', server: 'sidecar' },
  { id: 'http-save', title: 'sidecar Dapr HTTP SAVE', kind: 'http', op: 'save', server: 'sidecar' },
  { id: 'dapr-grpc-get', title: 'sidecar Dapr gRPC GetState', kind: 'dapr-grpc', op: 'get', server: 'sidecar' },
  { id: 'dapr-grpc-save', title: 'sidecar Dapr gRPC SaveState', kind: 'dapr-grpc', op: 'save', server: 'sidecar' },
  { id: 'layotto-grpc-get', title: 'sidecar Layotto gRPC GetState', kind: 'layotto-grpc', op: 'get', server: 'sidecar' },
  { id: 'layotto-grpc-save', title: 'sidecar Layotto gRPC SaveState', kind: 'layotto-grpc', op: 'save', server: 'sidecar' },
].filter((t) => !only || only.has(t.id));
const OPEN = [
  { id: 'direct-get', title: 'direct Redis HGET (ioredis)', kind: 'redis', op: 'get', server: null },
  { id: 'floor-get', title: 'floor: fastify + ioredis, HTTP GET', kind: 'http', op: 'get', server: 'floor' },
  { id: 'http-get', title: 'sidecar Dapr HTTP GET', kind: 'http', op: 'get', server: 'sidecar' },
].filter((t) => !only || only.has(`open-${t.id}`));

const children = [];
const notes = [];
const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);
const began = Date.now();

// Every loop stops by itself; this only guards against a hung child process.
const watchdog = setTimeout(async () => {
  log('watchdog: the run took over 6 minutes, stopping');
  await Promise.all(children.map((c) => c.stop()));
  process.exit(1);
}, 6 * 60_000);
watchdog.unref();

async function main() {
  const { redis, redisVersion, pids } = await prepare({ root: ROOT, redisPort: REDIS_PORT, skipBuild: opt['skip-build'], log });

  // Seed with daprd's state.redis layout: one hash per key, fields data (raw bytes) and version.
  const seed = redis.pipeline();
  for (let i = 0; i < KEYS; i++) seed.hset(`${APP_ID}||${readKey(i)}`, 'data', jsonValue(i), 'version', 1);
  await seed.exec();
  log(`seeded ${KEYS} keys (${Buffer.byteLength(jsonValue(0))}-byte JSON values)`);

  const [floorPort, httpPort, grpcPort, layottoPort, metricsPort] = await Promise.all(Array.from({ length: 5 }, freePort));
  // --profile: both servers run under the V8 CPU profiler (profiles are written when they exit).
  const profileArgs = (name) => (opt.profile ? ['--cpu-prof', '--cpu-prof-dir', resolve(opt.profile), '--cpu-prof-name', `${name}.cpuprofile`] : []);
  const floor = spawnNode([...profileArgs('floor'), join(HERE, 'floor.mjs'), String(floorPort), APP_ID, '127.0.0.1', String(REDIS_PORT)]);
  children.push(floor);
  pids.floor = floor.proc.pid;

  const resDir = mkdtempSync(join(os.tmpdir(), 'layotto-ts-bench-'));
  writeFileSync(
    join(resDir, 'statestore.yaml'),
    `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${STORE}\nspec:\n  type: state.redis\n  version: v1\n  metadata:\n  - name: redisHost\n    value: localhost:${REDIS_PORT}\n  - name: keyPrefix\n    value: appid\n`,
  );
  const sidecarArgs = [
    '--app-id', APP_ID,
    '--dapr-http-port', String(httpPort),
    '--dapr-grpc-port', String(grpcPort),
    '--layotto-grpc-port', String(layottoPort),
    '--actuator-port', '0',
    '--metrics-port', String(metricsPort),
    '--dapr-listen-addresses', '127.0.0.1',
    '--resources-path', resDir,
    '--log-level', 'warn',
  ];
  const sidecar = spawnNode([...profileArgs('sidecar'), join(ROOT, 'dist', 'main.js'), ...sidecarArgs], { cwd: ROOT });
  children.push(sidecar);
  pids.sidecar = sidecar.proc.pid;

  await waitUntil('floor', floor, async () => (await httpStatus(`http://127.0.0.1:${floorPort}/v1.0/state/${STORE}/${readKey(0)}`)) === 200);
  await waitUntil('sidecar', sidecar, async () => (await httpStatus(`http://127.0.0.1:${httpPort}/v1.0/healthz`)) === 204);
  const healthyAt = Date.now();
  await sleep(2000);
  const idleRss = rssMB(pids.sidecar);
  log(`sidecar healthy; idle RSS ${idleRss.toFixed(1)} MB at +2 s`);
  // V8's memory reducer runs several seconds after startup activity; also record where RSS settles.
  await sleep(Math.max(0, healthyAt + 12_000 - Date.now()));
  const settledRss = rssMB(pids.sidecar);
  log(`idle RSS ${settledRss.toFixed(1)} MB at +12 s`);

  // Both servers must return exactly the seeded bytes, or the numbers below mean nothing.
  for (const [name, port] of [['floor', floorPort], ['sidecar', httpPort]]) {
    const r = await fetch(`http://127.0.0.1:${port}/v1.0/state/${STORE}/${readKey(7)}`);
    const body = await r.text();
    if (r.status !== 200 || body !== jsonValue(7)) throw new Error(`${name} GET returned ${r.status} ${JSON.stringify(body)}, want the seeded value`);
  }

  const ports = { redis: REDIS_PORT, floor: floorPort, sidecar: httpPort, 'dapr-grpc': grpcPort, 'layotto-grpc': layottoPort };
  const portOf = (t) => (t.kind === 'redis' ? REDIS_PORT : t.kind === 'http' ? ports[t.server] : ports[t.kind]);
  const spec = (t) => ({ kind: t.kind, op: t.op, port: portOf(t), label: t.id, store: STORE, appId: APP_ID, connections: config.concurrency });

  const closed = [];
  for (const t of CLOSED) {
    log(`closed loop: ${t.title}`);
    const job = { mode: 'closed', spec: spec(t), concurrency: config.concurrency, warmupMs: config.warmupMs, durationMs: config.durationMs };
    closed.push({ ...t, ...(await runLoad(job, pids, t.server)) });
  }
  const open = [];
  for (const t of OPEN) {
    log(`fixed rate ${config.rate}/s: ${t.title}`);
    const job = { mode: 'open', spec: spec(t), rate: config.rate, warmupMs: config.openWarmupMs, durationMs: config.openDurationMs };
    open.push({ ...t, ...(await runLoad(job, pids, t.server)) });
  }
  const loadedRss = rssMB(pids.sidecar);
  const peakRss = rssMB(pids.sidecar, 'VmHWM');

  await Promise.all(children.map((c) => c.stop()));
  rmSync(resDir, { recursive: true, force: true });
  const del = redis.pipeline();
  for (let i = 0; i < KEYS; i++) {
    del.del(`${APP_ID}||${readKey(i)}`);
    for (const t of CLOSED.filter((c) => c.op === 'save')) del.del(`${APP_ID}||${saveKey(t.id, i)}`);
  }
  await del.exec();
  redis.disconnect();

  const cpu = os.cpus();
  const machine = `${cpu[0]?.model.trim() ?? '?'}, ${cpu.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${os.release()}, Node ${process.version}, Redis ${redisVersion}`;
  const command = process.env.npm_lifecycle_event === 'bench' ? `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}` : `node ${relative(ROOT, process.argv[1])} ${process.argv.slice(2).join(' ')}`.trim();
  if (!pids.redis) notes.push('Redis CPU not sampled (its /proc entry is not readable).');
  notes.push(`Whole run took ${Math.round((Date.now() - began) / 1000)} s including the build.`);
  const results = { date: new Date().toISOString(), machine, command, config, closed, open, idleRss, settledRss, loadedRss, peakRss, notes };

  console.log(`\n## Goals\n\n${targetsTable(results)}\n\n## Closed loop (${config.concurrency} concurrent)\n\n${closedTable(closed)}\n`);
  if (open.length) console.log(`## Fixed rate (${config.rate} req/s)\n\n${openTable(open)}\n`);
  console.log(`Sidecar RSS: idle ${idleRss.toFixed(1)} MB (+2 s), ${settledRss.toFixed(1)} MB (+12 s), after load ${loadedRss.toFixed(1)} MB, peak ${peakRss.toFixed(1)} MB`);
  if (outFile) {
    writeFileSync(outFile, renderMarkdown(results));
    log(`wrote ${relative(ROOT, outFile)}`);
  }
  if (opt.profile) log(`CPU profile(s) in ${resolve(opt.profile)} (open in Chrome DevTools or speedscope)`);
}

main().catch(async (e) => {
  log(`failed: ${e.stack ?? e}`);
  for (const c of children) if (c.proc.exitCode !== null) log(`output of pid ${c.proc.pid}:\n${c.output()}`);
  await Promise.all(children.map((c) => c.stop()));
  process.exit(1);
});
