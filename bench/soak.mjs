// Long soak: `npm run bench:soak -- [--duration 300] [--rate 150] [--in-flight 32] [--sample 10]
// [--warmup 30] [--redis-port 6379] [--skip-build]`. The same load as compat-tests/soak (state
// save/get on Redis, publish to pubsub.redis with a subscribing app, invoke through a second
// sidecar; loopback only, bounded in rate, in-flight requests and time), printed as a table of the
// sidecars' RSS, heap and event-loop lag every --sample seconds, then first third vs last third
// after --warmup. Run with tsx (the npm script does), which loads the TypeScript helpers.
import { execSync } from 'node:child_process';
import { Socket } from 'node:net';
import { runSoak, startSoakEnv, thirds } from '../compat-tests/soak/load.ts';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const durationS = Number(arg('duration', 300));
const rate = Number(arg('rate', 150));
const maxInFlight = Number(arg('in-flight', 32));
const sampleS = Number(arg('sample', 10));
const warmupS = Number(arg('warmup', 30));
const redisPort = Number(arg('redis-port', 6379));

const reachable = (port) =>
  new Promise((resolve) => {
    const s = new Socket();
    s.setTimeout(1000, () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(false));
    s.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
  });

if (!(await reachable(redisPort))) {
  console.error(`Redis on 127.0.0.1:${redisPort} is unreachable: the soak needs it`);
  process.exit(1);
}
if (!process.argv.includes('--skip-build')) execSync('npm run build', { stdio: 'inherit' });

const pad = (v, n = 9) => String(v).padStart(n);
const fmt = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');
console.log(`soak: ${durationS} s at ${rate} ops/s (at most ${maxInFlight} in flight), samples every ${sampleS} s, warm-up ${warmupS} s`);
console.log(['t (s)', 'ops/s', 'RSS A MB', 'RSS B MB', 'heap A MB', 'lag99 A ms', 'lag99 B ms'].map((h) => pad(h, 11)).join(''));
const env = await startSoakEnv(redisPort);
let result;
try {
  result = await runSoak(env, {
    durationMs: durationS * 1000,
    rate,
    maxInFlight,
    sampleMs: sampleS * 1000,
    onSample: (s) => console.log([s.t, s.opsPerSec, fmt(s.rssMbA), fmt(s.rssMbB), fmt(s.heapMbA), fmt(s.lagP99MsA), fmt(s.lagP99MsB)].map((v) => pad(v, 11)).join('')),
  });
} finally {
  await env.stop();
}

const total = Object.values(result.done).reduce((a, b) => a + b, 0);
console.log(`\noperations: ${JSON.stringify(result.done)} (${total} in ${durationS} s, ${Math.round(total / durationS)}/s); skipped at the in-flight cap: ${result.skipped}`);
console.log(`published ${result.published}, delivered ${result.delivered} (duplicates ${env.appA.duplicates}); errors: ${result.errors.length}`);
for (const e of result.errors.slice(0, 10)) console.log(`  ${e}`);
console.log(`\nafter ${warmupS} s of warm-up, mean of the first third -> last third of the samples:`);
for (const [field, label] of [
  ['rssMbA', 'RSS A (MB)'],
  ['rssMbB', 'RSS B (MB)'],
  ['heapMbA', 'heap used A (MB)'],
  ['lagP99MsA', 'event-loop p99 A (ms)'],
  ['lagP99MsB', 'event-loop p99 B (ms)'],
]) {
  const { first, last } = thirds(result.samples, field, warmupS);
  console.log(`  ${label.padEnd(24)} ${fmt(first).padStart(8)} -> ${fmt(last).padStart(8)}`);
}
process.exit(result.errors.length === 0 && result.delivered === result.published ? 0 : 1);
