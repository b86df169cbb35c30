// Ids and locks benchmark (npm run bench:ids-locks): builds and starts the sidecar with a
// sequencer.redis and a lock.redis component on the local Redis, then drives direct Redis and the
// sidecar's GetNextId / TryLock+Unlock with the same forked load generator as the state benchmark,
// prints a table and writes RESULTS-ids-locks.md. Options:
//   --concurrency 16  --warmup 1  --duration 5  --skip-build  --out FILE
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, httpStatus, spawnNode, waitUntil } from './procs.mjs';
import { refTable } from './report.mjs';
import { prepare, runLoad } from './runload.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const APP_ID = 'bench';
const REDIS_PORT = 6379;
const SEQ = 'sequencer';
const LOCK = 'lockstore';

const { values: opt } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '16' },
    warmup: { type: 'string', default: '1' },
    duration: { type: 'string', default: '5' },
    'skip-build': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const config = { concurrency: Number(opt.concurrency), warmupMs: Number(opt.warmup) * 1000, durationMs: Number(opt.duration) * 1000, cores: os.cpus().length };
const outFile = opt.out ? resolve(opt.out) : join(HERE, 'RESULTS-ids-locks.md');
// Unique per run: counters and lock resource ids never collide with an earlier run's leftovers.
const RUN = `${Date.now().toString(36)}`;

const TARGETS = [
  { id: 'direct-incr', title: 'direct Redis INCR (ioredis)', kind: 'redis', op: 'next-id', store: SEQ },
  { id: 'layotto-weak', title: 'sidecar Layotto GetNextId WEAK', kind: 'layotto-grpc', op: 'next-id', store: SEQ, ref: 'direct-incr' },
  { id: 'layotto-strong', title: 'sidecar Layotto GetNextId STRONG', kind: 'layotto-grpc', op: 'next-id', store: SEQ, strong: true, ref: 'direct-incr' },
  { id: 'direct-lock', title: 'direct Redis SET NX PX + EVAL compare-and-delete', kind: 'redis', op: 'lock', store: LOCK },
  { id: 'layotto-lock', title: 'sidecar Layotto TryLock + Unlock', kind: 'layotto-grpc', op: 'lock', store: LOCK, ref: 'direct-lock' },
  { id: 'dapr-grpc-lock', title: 'sidecar Dapr gRPC TryLockAlpha1 + UnlockAlpha1', kind: 'dapr-grpc', op: 'lock', store: LOCK, ref: 'direct-lock' },
  { id: 'http-lock', title: 'sidecar Dapr HTTP lock + unlock', kind: 'http', op: 'lock', store: LOCK, ref: 'direct-lock' },
];

const log = (msg) => process.stderr.write(`[bench:ids-locks] ${msg}\n`);
const began = Date.now();
let sidecar;
// Every loop stops by itself; this only guards against a hung child process.
const watchdog = setTimeout(async () => {
  log('watchdog: the run took over 3 minutes, stopping');
  await sidecar?.stop();
  process.exit(1);
}, 3 * 60_000);
watchdog.unref();

const component = (name, type) =>
  `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: ${type}\n  version: v1\n  metadata:\n  - name: redisHost\n    value: 127.0.0.1:${REDIS_PORT}\n`;

async function main() {
  const { redis, redisVersion, pids } = await prepare({ root: ROOT, redisPort: REDIS_PORT, skipBuild: opt['skip-build'], log });

  const resDir = mkdtempSync(join(os.tmpdir(), 'layotto-ts-bench-ids-'));
  writeFileSync(join(resDir, 'sequencer.yaml'), component(SEQ, 'sequencer.redis'));
  writeFileSync(join(resDir, 'lock.yaml'), component(LOCK, 'lock.redis'));
  const [httpPort, grpcPort, layottoPort, metricsPort] = await Promise.all(Array.from({ length: 4 }, freePort));
  const args = [
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
  sidecar = spawnNode([join(ROOT, 'dist', 'main.js'), ...args], { cwd: ROOT });
  pids.sidecar = sidecar.proc.pid;
  await waitUntil('sidecar', sidecar, async () => (await httpStatus(`http://127.0.0.1:${httpPort}/v1.0/healthz`)) === 204);
  log('sidecar healthy');

  const ports = { redis: REDIS_PORT, http: httpPort, 'dapr-grpc': grpcPort, 'layotto-grpc': layottoPort };
  const rows = [];
  for (const t of TARGETS) {
    log(`closed loop: ${t.title}`);
    const spec = { kind: t.kind, op: t.op, port: ports[t.kind], label: `bench-ids-${t.id}`, run: RUN, store: t.store, strong: t.strong, connections: config.concurrency };
    const job = { targets: './targets-ids-locks.mjs', mode: 'closed', spec, concurrency: config.concurrency, warmupMs: config.warmupMs, durationMs: config.durationMs };
    rows.push({ ...t, ...(await runLoad(job, pids, t.kind === 'redis' ? null : 'sidecar')) });
  }

  await sidecar.stop();
  rmSync(resDir, { recursive: true, force: true });
  // Counters (any prefix the sidecar adds) and any lock a failed request left behind.
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `*bench-ids-*-${RUN}*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();

  const cpu = os.cpus();
  const machine = `${cpu[0]?.model.trim() ?? '?'}, ${cpu.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${os.release()}, Node ${process.version}, Redis ${redisVersion}`;
  const extra = process.argv.slice(2).join(' ');
  const command = process.env.npm_lifecycle_event === 'bench:ids-locks' ? `npm run bench:ids-locks${extra ? ` -- ${extra}` : ''}` : `node ${relative(ROOT, process.argv[1])} ${extra}`.trim();
  const table = refTable(rows);
  const took = Math.round((Date.now() - began) / 1000);
  console.log(`\n## Ids and locks (closed loop, ${config.concurrency} concurrent)\n\n${table}\n`);
  writeFileSync(
    outFile,
    `# Ids and locks benchmark results

- Date: ${new Date().toISOString()}
- Machine: ${machine}
- Command: \`${command}\`
- Settings: closed loop, ${config.concurrency} concurrent requests, ${config.warmupMs / 1000} s warm-up + ${config.durationMs / 1000} s measured per target; whole run ${took} s including the build.

## Closed loop (${config.concurrency} concurrent)

${table}

- Ids: every request takes the next id of one counter per target (direct: \`INCR\`; sidecar: \`GetNextId\` on a
  \`sequencer.redis\` component, options.increment WEAK = 0 or STRONG = 1).
- Locks: every request is one acquire plus one release of a lock on a resource id used once (direct:
  \`SET id owner NX PX 10000\` then \`EVAL\` compare-and-delete; sidecar: a \`lock.redis\` component, expiry 10 s).
  A request counts as an error unless the lock was acquired and then released.
- "vs direct" is req/s relative to the direct Redis row of the same kind. CPU columns are % of one core over the
  measured window (server = the sidecar; µs/req = its CPU time per request). Generator, sidecar and Redis share the machine's ${config.cores} cores.
`,
  );
  log(`wrote ${relative(ROOT, outFile)} (${took} s)`);
}

main().catch(async (e) => {
  log(`failed: ${e.stack ?? e}`);
  if (sidecar) log(`sidecar output:\n${sidecar.output()}`);
  await sidecar?.stop();
  process.exit(1);
});
