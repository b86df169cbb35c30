// What observation and limits cost (npm run bench:observability): the state GET path (Dapr HTTP and
// Dapr gRPC, Redis state store) on a sidecar with metrics + tracing (every request sampled, spans
// exported to a Zipkin-compatible sink) + a rate limiter that never binds, as a ratio to the same
// path on a sidecar with all three off. Both sidecars run side by side against the same Redis and
// are measured in alternation (plain, observed, plain, observed, ...) so drift hits both alike.
// Options:
//   --rounds 2  --concurrency 32  --warmup 2  --duration 5       closed-loop runs (seconds)
//   --skip-build  --out FILE  --profile DIR   (--profile: node --cpu-prof the observed sidecar into DIR)
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, httpStatus, spawnNode, waitUntil } from './procs.mjs';
import { prepare, runLoad } from './runload.mjs';
import { checkoutState, machineLine } from './report.mjs';
import { KEYS, jsonValue, readKey } from './targets.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const APP_ID = 'bench';
const STORE = 'statestore';
const REDIS_PORT = 6379;

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '32' },
    warmup: { type: 'string', default: '2' },
    duration: { type: 'string', default: '5' },
    'skip-build': { type: 'boolean', default: false },
    out: { type: 'string' },
    profile: { type: 'string' },
  },
});
const rounds = Number(opt.rounds);
const job = { mode: 'closed', concurrency: Number(opt.concurrency), warmupMs: Number(opt.warmup) * 1000, durationMs: Number(opt.duration) * 1000 };
const outFile = opt.out ?? (opt.profile ? undefined : join(HERE, 'RESULTS-observability.md'));
const log = (msg) => process.stderr.write(`[bench:observability] ${msg}\n`);
const children = [];
const began = Date.now();
const loadAtStart = os.loadavg()[0];

const STATESTORE = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: ${STORE}
spec:
  type: state.redis
  version: v1
  metadata:
  - name: redisHost
    value: localhost:${REDIS_PORT}
  - name: keyPrefix
    value: appid
`;
// Limits far above anything this machine can send: every request is counted, none refused.
const LIMITERS = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: ratelimit
spec:
  type: middleware.http.ratelimit
  version: v1
  metadata:
  - name: maxRequestsPerSecond
    value: "1000000"
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: flowcontrol
spec:
  type: middleware.grpc.flowcontrol
  version: v1
  metadata:
  - name: rules
    value: '[{"resource":"/dapr.proto.runtime.v1.Dapr/GetState","threshold":1000000}]'
`;
const config = (zipkin) => `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: observed
spec:
  tracing:
    samplingRate: "1"
    zipkin:
      endpointAddress: ${zipkin}
  metrics:
    enabled: true
  httpPipeline:
    handlers:
    - name: ratelimit
      type: middleware.http.ratelimit
  grpcPipeline:
    handlers:
    - name: flowcontrol
      type: middleware.grpc.flowcontrol
`;

/** A Zipkin-compatible sink that counts what it is sent and throws it away. */
function zipkinSink() {
  const got = { posts: 0, spans: 0 };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got.posts++;
      try {
        got.spans += JSON.parse(Buffer.concat(chunks).toString()).length;
      } catch {
        /* not JSON: counted as a post only */
      }
      res.writeHead(202).end();
    });
  });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res({ server, got, url: `http://127.0.0.1:${server.address().port}/api/v2/spans` })));
}

async function startSidecar(name, { observed, resDir, cfgFile, pids }) {
  const [http, grpc, metrics] = await Promise.all([freePort(), freePort(), freePort()]);
  const args = [
    ...(observed && opt.profile ? ['--cpu-prof', '--cpu-prof-dir', resolve(opt.profile), '--cpu-prof-name', `${name}.cpuprofile`] : []),
    join(ROOT, 'dist', 'main.js'),
    '--app-id', APP_ID,
    '--dapr-http-port', String(http),
    '--dapr-grpc-port', String(grpc),
    '--layotto-grpc-port', '0',
    '--actuator-port', '0',
    '--dapr-listen-addresses', '127.0.0.1',
    '--resources-path', resDir,
    '--log-level', 'warn',
    ...(observed ? ['--metrics-port', String(metrics), '--config', cfgFile] : ['--enable-metrics=false']),
  ];
  const child = spawnNode(args, { cwd: ROOT });
  children.push(child);
  pids[name] = child.proc.pid;
  await waitUntil(name, child, async () => (await httpStatus(`http://127.0.0.1:${http}/v1.0/healthz`)) === 204);
  return { http, grpc, metrics };
}

async function main() {
  const { redis, pids } = await prepare({ root: ROOT, redisPort: REDIS_PORT, skipBuild: opt['skip-build'], log });
  const seed = redis.pipeline();
  for (let i = 0; i < KEYS; i++) seed.hset(`${APP_ID}||${readKey(i)}`, 'data', jsonValue(i), 'version', 1);
  await seed.exec();

  const sink = await zipkinSink();
  const plainDir = mkdtempSync(join(os.tmpdir(), 'layotto-ts-bench-plain-'));
  const obsDir = mkdtempSync(join(os.tmpdir(), 'layotto-ts-bench-observed-'));
  writeFileSync(join(plainDir, 'statestore.yaml'), STATESTORE);
  writeFileSync(join(obsDir, 'statestore.yaml'), STATESTORE);
  writeFileSync(join(obsDir, 'limiters.yaml'), LIMITERS);
  const cfgFile = join(mkdtempSync(join(os.tmpdir(), 'layotto-ts-bench-cfg-')), 'config.yaml');
  writeFileSync(cfgFile, config(sink.url));

  const plain = await startSidecar('plain', { observed: false, resDir: plainDir, pids });
  const observed = await startSidecar('observed', { observed: true, resDir: obsDir, cfgFile, pids });
  for (const [name, s] of [['plain', plain], ['observed', observed]]) {
    const r = await fetch(`http://127.0.0.1:${s.http}/v1.0/state/${STORE}/${readKey(7)}`);
    const body = await r.text();
    if (r.status !== 200 || body !== jsonValue(7)) throw new Error(`${name} GET returned ${r.status} ${JSON.stringify(body)}, want the seeded value`);
  }
  const scrape = await (await fetch(`http://127.0.0.1:${observed.metrics}/metrics`)).text();
  if (!scrape.includes('dapr_http_server_request_count')) throw new Error('the observed sidecar serves no dapr_http_server_request_count');

  const paths = [
    { id: 'http', title: 'Dapr HTTP GET /v1.0/state', kind: 'http', port: (s) => s.http },
    { id: 'grpc', title: 'Dapr gRPC GetState', kind: 'dapr-grpc', port: (s) => s.grpc },
  ];
  const runs = [];
  for (let round = 1; round <= rounds; round++) {
    for (const p of paths) {
      for (const [name, s] of round % 2 ? [['plain', plain], ['observed', observed]] : [['observed', observed], ['plain', plain]]) {
        log(`round ${round}: ${p.title} on the ${name} sidecar`);
        const spec = { kind: p.kind, op: 'get', port: p.port(s), label: `${name}-${p.id}`, store: STORE, appId: APP_ID, connections: job.concurrency };
        runs.push({ round, path: p.id, title: p.title, sidecar: name, ...(await runLoad({ ...job, spec }, pids, name)) });
      }
    }
  }
  await new Promise((r) => setTimeout(r, 1500)); // the last span batch
  await Promise.all(children.map((c) => c.stop()));
  sink.server.close();
  for (const d of [plainDir, obsDir, dirname(cfgFile)]) rmSync(d, { recursive: true, force: true });
  const del = redis.pipeline();
  for (let i = 0; i < KEYS; i++) del.del(`${APP_ID}||${readKey(i)}`);
  await del.exec();
  redis.disconnect();

  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const rowsFor = (path, sidecar) => runs.filter((r) => r.path === path && r.sidecar === sidecar);
  const summary = paths.map((p) => {
    const [a, b] = [rowsFor(p.id, 'plain'), rowsFor(p.id, 'observed')];
    const rps = (rs) => mean(rs.map((r) => r.rps));
    const us = (rs) => mean(rs.map((r) => (r.serverCpu / 100 / r.rps) * 1e6));
    const p99 = (rs) => mean(rs.map((r) => r.p99));
    return { title: p.title, plainRps: rps(a), obsRps: rps(b), plainUs: us(a), obsUs: us(b), plainP99: p99(a), obsP99: p99(b), errors: [...a, ...b].reduce((n, r) => n + r.errors, 0) };
  });
  const f = (n, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  const table = [
    '| path | all off: req/s | metrics + tracing + limiter: req/s | throughput ratio | all off: sidecar µs/req | on: sidecar µs/req | CPU ratio | all off: p99 ms | on: p99 ms | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...summary.map((s) => `| ${s.title} | ${f(s.plainRps)} | ${f(s.obsRps)} | ${f(s.obsRps / s.plainRps, 2)}× | ${f(s.plainUs)} | ${f(s.obsUs)} | ${f(s.obsUs / s.plainUs, 2)}× | ${f(s.plainP99, 2)} | ${f(s.obsP99, 2)} | ${s.errors} |`),
  ].join('\n');
  const detail = [
    '| round | path | sidecar | req/s | p50 ms | p99 ms | sidecar CPU | generator CPU | other CPU | errors |',
    '|---:|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...runs.map((r) => `| ${r.round} | ${r.title} | ${r.sidecar} | ${f(r.rps)} | ${f(r.p50, 3)} | ${f(r.p99, 3)} | ${f(r.serverCpu)}% | ${f(r.genCpu)}% | ${f(r.otherCpu)}% | ${r.errors} |`),
  ].join('\n');
  const command = process.env.npm_lifecycle_event ? `npm run ${process.env.npm_lifecycle_event}${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}` : `node ${relative(ROOT, process.argv[1])} ${process.argv.slice(2).join(' ')}`.trim();
  const state = checkoutState(ROOT);
  const md = `# Observation and limits: what they cost on the state GET path

- Date: ${new Date().toISOString()}
- Machine: ${machineLine(loadAtStart)}
- Checkout: layotto-ts at ${state.commit}${state.dirty ? ` with ${state.dirty} uncommitted file(s) under src/` : ''}; Node ${process.version}
- Command: \`${command}\`
- Settings: closed loop, ${job.concurrency} concurrent, ${opt.warmup} s warm-up + ${opt.duration} s measured per run, ${rounds} rounds alternating the two sidecars; ${KEYS} seeded ~100-byte JSON values in the local Redis (state.redis). Whole run ${Math.round((Date.now() - began) / 1000)} s.
- **All off**: \`--enable-metrics=false\`, no Configuration (no tracing, no pipeline).
- **On**: metrics on its own port (daprd's families and Layotto's \`grpc_*\`), tracing with \`samplingRate: "1"\` (every request gets a span, exported in batches to a Zipkin-compatible sink in the bench process: ${sink.got.spans.toLocaleString('en-US')} spans in ${sink.got.posts} posts), and a limiter on each API that never binds: \`middleware.http.ratelimit\` at 1,000,000 req/s in \`httpPipeline\`, \`middleware.grpc.flowcontrol\` with a 1,000,000/s rule for GetState in \`grpcPipeline\`.

## Result

${table}

Throughput ratio = on / off (1.00× = free); CPU ratio = the sidecar's CPU per request, on / off.

## Every run

${detail}
`;
  console.log(`\n${table}\n`);
  if (outFile) {
    writeFileSync(outFile, md);
    log(`wrote ${relative(ROOT, outFile)}`);
  }
}

main().catch(async (e) => {
  log(`failed: ${e.stack ?? e}`);
  for (const c of children) if (c.proc.exitCode !== null) log(`output of pid ${c.proc.pid}:\n${c.output()}`);
  await Promise.all(children.map((c) => c.stop()));
  process.exit(1);
});
