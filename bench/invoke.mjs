// Service invocation benchmark (npm run bench:invoke): app → sidecar → sidecar → app against
// app → app directly. Builds the sidecar, starts a target app (invoke-app.mjs, its own process),
// a callee sidecar for it and a caller sidecar with no app (the load generator plays the calling
// app), both on the default sqlite name resolution under a private HOME, then measures in one run
//   (1) fixed rate, open loop: direct, sidecar → sidecar, self (one sidecar, its own app id), and
//       direct again (drift check); p50/p90/p99 and what the sidecars add to them;
//   (2) saturation, closed loop: req/s, p50/p99, ratio to direct, CPU per request of each sidecar;
//   (3) a lower fixed rate (default 200 req/s), direct and sidecar → sidecar only: what the hops add
//       when the sidecars are not near their limit on this machine;
//   (4) one request at a time (closed loop of 1) on the three paths: the hops' latency with no queue.
// Same forked generator (loadgen.mjs with targets-invoke.mjs) and CPU sampling (runload.mjs) as the
// other benchmarks. Before any measurement every path is primed with an unrecorded closed loop, so
// that V8 has optimized the sidecars' request path (at a few hundred req/s the first thousands of
// calls run slower, unoptimized code). Prints the tables and writes RESULTS-invoke.md. Options:
//   --prime 3                                             priming seconds per path (0: none)
//   --rate 1000  --open-warmup 3  --open-duration 20       fixed-rate runs (seconds; a shorter warm-up
//                                                         measures the sidecars settling after the
//                                                         saturated prime, not the steady rate)
//   --low-rate 200  --low-duration 4                      the lower fixed rate (--low-rate 0: left out)
//   --seq-duration 2                                      one request at a time, closed loop of 1 (0: left out)
//   --concurrency 32  --warmup 2  --duration 5            closed-loop runs (seconds)
//   --verb GET|POST  --body 100                           request verb; app answer (and POST body) size in bytes
//   --only direct,s2s,self,open-direct,open-s2s,open-self,low-direct,low-s2s,seq-direct,seq-s2s,seq-self
//                                                         run a subset (then no results file unless --out)
//   --skip-build  --out FILE  --profile DIR               (--profile: node --cpu-prof both sidecars into DIR)
//   --main FILE                                           the sidecar's entry point (default dist/main.js; an
//                                                         A/B run points it at another build, implies --skip-build)
//   --node-arg ARG                                        a node option for both sidecars (repeatable; e.g. a V8 GC flag)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, httpStatus, rssMB, spawnNode, waitUntil } from './procs.mjs';
import { runLoad } from './runload.mjs';
import { checkoutState, machineLine } from './report.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const CALLER = 'bench-invoke-caller';
const TARGET = 'bench-invoke-target';
const METHOD = 'ping';
// daprd's added latency for HTTP service invocation, app → sidecar → sidecar → app, as issue 4 quotes it.
const DAPRD = { p50: 1.1, p90: 1.5, p99: 2.9 };

const { values: opt } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    'open-warmup': { type: 'string', default: '3' },
    'open-duration': { type: 'string', default: '20' },
    'low-rate': { type: 'string', default: '200' },
    'low-duration': { type: 'string', default: '4' },
    prime: { type: 'string', default: '3' },
    'seq-duration': { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '32' },
    warmup: { type: 'string', default: '2' },
    duration: { type: 'string', default: '5' },
    verb: { type: 'string', default: 'GET' },
    body: { type: 'string', default: '100' },
    only: { type: 'string' },
    'skip-build': { type: 'boolean', default: false },
    out: { type: 'string' },
    profile: { type: 'string' },
    main: { type: 'string' },
    'node-arg': { type: 'string', multiple: true, default: [] },
  },
});
const MAIN = opt.main ? resolve(opt.main) : join(ROOT, 'dist', 'main.js');
const config = {
  rate: Number(opt.rate),
  openWarmupMs: Number(opt['open-warmup']) * 1000,
  openDurationMs: Number(opt['open-duration']) * 1000,
  lowRate: Number(opt['low-rate']),
  lowDurationMs: Number(opt['low-duration']) * 1000,
  primeMs: Number(opt.prime) * 1000,
  seqDurationMs: Number(opt['seq-duration']) * 1000,
  concurrency: Number(opt.concurrency),
  warmupMs: Number(opt.warmup) * 1000,
  durationMs: Number(opt.duration) * 1000,
  verb: opt.verb.toUpperCase(),
  bodyBytes: Number(opt.body),
  cores: os.cpus().length,
};
if (!['GET', 'POST'].includes(config.verb)) throw new Error(`--verb ${opt.verb}: GET or POST`);
const only = opt.only ? new Set(opt.only.split(',')) : undefined;
const outFile = opt.out ? resolve(opt.out) : only || opt.profile || opt.main || opt['node-arg'].length ? undefined : join(HERE, 'RESULTS-invoke.md');
const loadAtStart = os.loadavg()[0];

// One row per path. `cpu` names the two processes sampled over the measured window (runLoad samples
// pids[server] and pids.redis; here "redis" is just its second slot): [first, second].
const PATHS = {
  direct: { title: 'direct: generator → app', via: 'app', cpu: ['app', null] },
  s2s: { title: 'app → sidecar → sidecar → app', via: 'caller', cpu: ['caller', 'callee'] },
  self: { title: 'self: app → sidecar → own app', via: 'callee', cpu: ['callee', 'app'] },
};
const OPEN = ['direct', 's2s', 'self', 'direct-again']
  .map((id) => ({ id, ...PATHS[id.replace('-again', '')], ...(id === 'direct-again' ? { title: 'direct again (drift check)' } : {}) }))
  .filter((t) => !only || only.has(`open-${t.id.replace('-again', '')}`));
const CLOSED = ['direct', 's2s', 'self'].map((id) => ({ id, ...PATHS[id] })).filter((t) => !only || only.has(t.id));
const LOW = (config.lowRate > 0 ? ['direct', 's2s'] : []).map((id) => ({ id, ...PATHS[id] })).filter((t) => !only || only.has(`low-${t.id}`));
const SEQ = (config.seqDurationMs > 0 ? ['direct', 's2s', 'self'] : []).map((id) => ({ id, ...PATHS[id] })).filter((t) => !only || only.has(`seq-${t.id}`));

const log = (msg) => process.stderr.write(`[bench:invoke] ${msg}\n`);
const began = Date.now();
const children = [];
const tmpDirs = [];
const notes = [];

async function stopAll() {
  await Promise.all(children.map((c) => c.stop()));
  for (const d of tmpDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
// Every loop stops by itself; this only guards against a hung child process. It covers everything
// after the build (the build has its own 2-minute limit).
let watchdog;
function startWatchdog() {
  watchdog = setTimeout(async () => {
    log('watchdog: the run took over 6 minutes, stopping');
    await Promise.race([stopAll(), sleep(15_000)]);
    process.exit(1);
  }, 6 * 60_000); // the default run measures about 3.5 minutes
  watchdog.unref();
}

const pkgVersion = (name) => {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
};

async function main() {
  if (!opt['skip-build'] && !opt.main) {
    log('npm run build');
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
  }
  if (!existsSync(MAIN)) throw new Error(`${relative(ROOT, MAIN)} is missing: run npm run build`);
  startWatchdog();

  // A private HOME: both sidecars meet in its .dapr/nr.db (the sqlite default), never in the user's.
  const home = mkdtempSync(join(os.tmpdir(), 'layotto-ts-bench-invoke-home-'));
  const resDir = mkdtempSync(join(os.tmpdir(), 'layotto-ts-bench-invoke-res-'));
  tmpDirs.push(home, resDir);
  if (opt.profile) mkdirSync(resolve(opt.profile), { recursive: true });
  const profileArgs = (name) => (opt.profile ? ['--cpu-prof', '--cpu-prof-dir', resolve(opt.profile), '--cpu-prof-name', `${name}.cpuprofile`] : []);

  const appPort = await freePort();
  const app = spawnNode([join(HERE, 'invoke-app.mjs'), String(appPort), String(config.bodyBytes)]);
  children.push(app);
  await waitUntil('app', app, async () => (await httpStatus(`http://127.0.0.1:${appPort}/${METHOD}`)) === 200);

  const sidecar = async (name, appId, extra) => {
    const [http, grpc, internal, metrics] = await Promise.all(Array.from({ length: 4 }, freePort));
    const args = [
      '--app-id', appId,
      ...extra,
      '--dapr-http-port', String(http),
      '--dapr-grpc-port', String(grpc),
      '--layotto-grpc-port', '0',
      '--actuator-port', '0',
      '--dapr-internal-grpc-port', String(internal),
      '--dapr-internal-grpc-listen-address', '127.0.0.1',
      '--metrics-port', String(metrics),
      '--dapr-listen-addresses', '127.0.0.1',
      '--resources-path', resDir,
      '--log-level', 'warn',
    ];
    const child = spawnNode([...opt['node-arg'], ...profileArgs(name), MAIN, ...args], { cwd: ROOT, env: { ...process.env, HOME: home } });
    children.push(child);
    return { child, http };
  };
  const callee = await sidecar('callee', TARGET, ['--app-port', String(appPort)]);
  const caller = await sidecar('caller', CALLER, []);
  for (const [name, s] of [['callee', callee], ['caller', caller]]) {
    await waitUntil(`${name} sidecar`, s.child, async () => (await httpStatus(`http://127.0.0.1:${s.http}/v1.0/healthz`)) === 204);
  }
  const pids = { app: app.proc.pid, caller: caller.child.proc.pid, callee: callee.child.proc.pid };
  const ports = { app: appPort, caller: caller.http, callee: callee.http };
  const pathOf = (t) => (t.via === 'app' ? `/${METHOD}` : `/v1.0/invoke/${TARGET}/method/${METHOD}`);

  // Every path must return the app's exact answer before any load (the callee is found through the registry).
  const want = 'x'.repeat(config.bodyBytes);
  for (const t of Object.values(PATHS)) {
    const url = `http://127.0.0.1:${ports[t.via]}${pathOf(t)}`;
    await waitUntil(`${t.title} answering`, null, async () => {
      const r = await fetch(url, { method: config.verb, body: config.verb === 'GET' ? undefined : 'y'.repeat(config.bodyBytes), signal: AbortSignal.timeout(2000) });
      return r.status === 200 && (await r.text()) === want;
    }, 20_000);
  }
  log(`app, callee and caller sidecars up; every path returns the app's ${config.bodyBytes}-byte answer`);

  const spec = (t) => ({ port: ports[t.via], path: pathOf(t), verb: config.verb, bodyBytes: config.bodyBytes, expectBytes: config.bodyBytes, connections: config.concurrency });
  const run = async (t, job) => {
    const [first, second] = t.cpu;
    const r = await runLoad({ targets: './targets-invoke.mjs', spec: spec(t), ...job }, { first: pids[first], redis: second ? pids[second] : null }, 'first');
    const cpuOf = { [first]: r.serverCpu, ...(second ? { [second]: r.redisCpu } : {}) };
    if (r.errors > 0) notes.push(`${t.title} (${job.mode}): ${r.errors} failed requests in the measured window (first: ${r.firstError}).`);
    return { ...t, ...r, cpuOf };
  };

  // Priming: a closed loop per path, nothing recorded (the generator still needs a short measured window).
  const primed = {};
  if (config.primeMs > 0) {
    for (const [id, t] of Object.entries(PATHS)) {
      if (![...OPEN, ...CLOSED, ...LOW, ...SEQ].some((r) => r.via === t.via)) continue;
      log(`priming ${config.primeMs / 1000} s: ${t.title}`);
      const r = await runLoad({ targets: './targets-invoke.mjs', spec: spec(t), mode: 'closed', concurrency: config.concurrency, warmupMs: config.primeMs, durationMs: 500 }, {}, null);
      primed[id] = Math.round(r.rps * (config.primeMs / 1000 + 0.5));
    }
  }
  const open = [];
  for (const t of OPEN) {
    log(`fixed rate ${config.rate}/s: ${t.title}`);
    open.push(await run(t, { mode: 'open', rate: config.rate, warmupMs: config.openWarmupMs, durationMs: config.openDurationMs }));
  }
  const closed = [];
  for (const t of CLOSED) {
    log(`closed loop ${config.concurrency}: ${t.title}`);
    closed.push(await run(t, { mode: 'closed', concurrency: config.concurrency, warmupMs: config.warmupMs, durationMs: config.durationMs }));
  }
  const low = [];
  for (const t of LOW) {
    log(`fixed rate ${config.lowRate}/s: ${t.title}`);
    low.push(await run(t, { mode: 'open', rate: config.lowRate, warmupMs: config.openWarmupMs, durationMs: config.lowDurationMs }));
  }
  const seq = [];
  for (const t of SEQ) {
    log(`one at a time: ${t.title}`);
    seq.push(await run(t, { mode: 'closed', concurrency: 1, warmupMs: 1000, durationMs: config.seqDurationMs }));
  }
  const rss = { caller: rssMB(pids.caller), callee: rssMB(pids.callee), callerPeak: rssMB(pids.caller, 'VmHWM'), calleePeak: rssMB(pids.callee, 'VmHWM') };
  await stopAll();
  clearTimeout(watchdog);

  // ---- report ----
  const f = (n, d = 3) => (Number.isFinite(n) ? n.toFixed(d) : '–');
  const plus = (n, d = 3) => (Number.isFinite(n) ? `${n >= 0 ? '+' : ''}${n.toFixed(d)}` : '–');
  const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
  const pct = (n) => (Number.isFinite(n) ? `${Math.round(n)}%` : '–');
  const usPer = (cpuPct, rps) => (Number.isFinite(cpuPct) && rps > 0 ? ((cpuPct / 100 / rps) * 1e6).toFixed(0) : '–');
  const errs = (r) => `${r.errors}${r.firstError ? ` (${r.firstError.slice(0, 40)})` : ''}`;
  // Sidecar CPU cells: the self row's one sidecar is shown as the caller (it is both).
  const sidecarCells = (r) => {
    const callerCpu = r.id === 'self' ? r.cpuOf.callee : r.cpuOf.caller;
    const calleeCpu = r.id === 'self' ? undefined : r.cpuOf.callee;
    return [pct(callerCpu), usPer(callerCpu, r.rps), r.id === 'self' ? 'same' : pct(calleeCpu), r.id === 'self' ? 'same' : usPer(calleeCpu, r.rps), usPer(r.cpuOf.app, r.rps)];
  };

  const oDirect = open.find((r) => r.id === 'direct');
  // An open loop past the path's capacity measures a queue: requests sent in the window complete long
  // after it, so "completed" and the per-request CPU (window CPU / completed) mean nothing there.
  const queued = (r) => r.ok === 0 || r.p50 > 100;
  const none = (r) => r.ok === 0; // every request failed: no percentiles at all
  const fixedTable = (rows) => {
    const direct = rows.find((r) => r.id === 'direct');
    return [
      '| path | completed req/s | p50 ms | p90 ms | p99 ms | added p50 ms | added p90 ms | added p99 ms | max ms | errors | send lag p99 ms | caller sidecar CPU | caller µs/req | callee sidecar CPU | callee µs/req | app µs/req | other CPU |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...rows.map((r) => {
        const ref = r.id === 'direct' ? undefined : direct;
        const add = (k) => (ref && !none(r) ? plus(r[k] - ref[k]) : '–');
        const p = (k) => (none(r) ? '–' : f(r[k]));
        const cells = sidecarCells(r);
        if (queued(r)) [1, 3, 4].forEach((i) => (cells[i] = cells[i] === 'same' ? 'same' : '–'));
        const mark = none(r) ? ' **(over capacity: every request timed out)**' : queued(r) ? ' **(over capacity: a queue)**' : '';
        return `| ${r.title}${mark} | ${queued(r) ? '–' : int(r.rps)} | ${p('p50')} | ${p('p90')} | ${p('p99')} | ${add('p50')} | ${add('p90')} | ${add('p99')} | ${none(r) ? '–' : f(r.max, 1)} | ${errs(r)} | ${f(r.lagP99Ms)} | ${cells.join(' | ')} | ${pct(Math.max(0, r.otherCpu))} |`;
      }),
    ].join('\n');
  };
  const openTable = fixedTable(open);
  const lowTable = low.length ? fixedTable(low) : '';
  const seqTable = seq.length ? fixedTable(seq) : '';
  const seqDirect = seq.find((r) => r.id === 'direct');
  const seqS2s = seq.find((r) => r.id === 's2s');
  const cDirect = closed.find((r) => r.id === 'direct');
  const closedTable = [
    '| path | req/s | vs direct | p50 ms | p99 ms | errors | caller sidecar CPU | caller µs/req | callee sidecar CPU | callee µs/req | app µs/req | generator CPU | other CPU |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...closed.map(
      (r) =>
        `| ${r.title} | ${int(r.rps)} | ${cDirect ? `${(r.rps / cDirect.rps).toFixed(2)}×` : '–'} | ${f(r.p50)} | ${f(r.p99)} | ${errs(r)} | ${sidecarCells(r).join(' | ')} | ${pct(r.genCpu)} | ${pct(Math.max(0, r.otherCpu))} |`,
    ),
  ].join('\n');

  const s2s = open.find((r) => r.id === 's2s');
  const added = s2s && oDirect && !none(s2s) ? { p50: s2s.p50 - oDirect.p50, p90: s2s.p90 - oDirect.p90, p99: s2s.p99 - oDirect.p99 } : undefined;
  const lowDirect = low.find((r) => r.id === 'direct');
  const lowS2s = low.find((r) => r.id === 's2s');
  const cS2s = closed.find((r) => r.id === 's2s');
  const triple = (a, b) => `${plus(a.p50 - b.p50, 2)} / ${plus(a.p90 - b.p90, 2)} / ${plus(a.p99 - b.p99, 2)} ms`;
  const lowSeq = `${lowS2s && lowDirect ? ` At ${config.lowRate} req/s: ${triple(lowS2s, lowDirect)}.` : ''}${seqS2s && seqDirect ? ` One request at a time: ${triple(seqS2s, seqDirect)}.` : ''}`;
  const headline = s2s && none(s2s)
    ? `At ${config.rate} req/s app → sidecar → sidecar → app could not keep up on this machine: all ${int(s2s.errors)} requests of the measured window timed out (5 s)${
        cS2s ? `; it saturated at ${int(cS2s.rps)} req/s in this run` : ''
      } (daprd adds +${DAPRD.p50} / +${DAPRD.p90} / +${DAPRD.p99} ms at p50 / p90 / p99).${lowSeq}`
    : added
    ? `At ${config.rate} req/s, app → sidecar → sidecar → app adds ${triple(s2s, oDirect)} at p50 / p90 / p99 over app → app (daprd: +${DAPRD.p50} / +${DAPRD.p90} / +${DAPRD.p99} ms)${
        queued(s2s) ? `; that rate is over the two sidecars' capacity on this machine${cS2s ? ` (${int(cS2s.rps)} req/s at saturation in this run)` : ''}, so this is mostly queueing${s2s.errors ? ` and ${int(s2s.errors)} requests timed out` : ''}` : ''
      }.${lowSeq}`
    : 'No headline: the direct or the sidecar → sidecar fixed-rate row was not run.';
  const lowSection = lowTable ? `\n## Lower fixed rate (${config.lowRate} req/s)\n\n${lowTable}\n` : '';
  const seqSection = seqTable
    ? `\n## One request at a time (closed loop, 1 concurrent, 1 s warm-up + ${config.seqDurationMs / 1000} s)\n\n${seqTable}\n\nNo queue of this benchmark's own: what the hops cost one request (the machine's other work still competes).\n`
    : '';
  console.log(`\n## Fixed rate (${config.rate} req/s)\n\n${openTable}\n\n## Saturation (closed loop, ${config.concurrency} concurrent)\n\n${closedTable}\n${lowSection}${seqSection}\n${headline}\n`);
  if (opt.profile) log(`CPU profiles of both sidecars in ${resolve(opt.profile)} (open in Chrome DevTools or speedscope)`);
  if (!outFile) return;

  const { commit, dirty } = checkoutState(ROOT);
  const machine = machineLine(loadAtStart);
  const versions = `Node ${process.version}; undici ${pkgVersion('undici')}, @grpc/grpc-js ${pkgVersion('@grpc/grpc-js')}, better-sqlite3 ${pkgVersion('better-sqlite3')}; layotto-ts ${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version} at ${commit}${dirty ? ` + ${dirty} uncommitted paths under src/ (others' work in progress)` : ''}`;
  const extra = process.argv.slice(2).join(' ');
  const command = process.env.npm_lifecycle_event === 'bench:invoke' ? `npm run bench:invoke${extra ? ` -- ${extra}` : ''}` : `node ${relative(ROOT, process.argv[1])} ${extra}`.trim();
  const took = Math.round((Date.now() - began) / 1000);
  const vs = (k) => (added ? `${plus(added[k], 2)} ms against daprd's +${DAPRD[k]} ms` : '–');
  const drift = open.find((r) => r.id === 'direct-again');
  // Past its saturation point an open loop measures a growing queue, not the cost of the hops.
  const overloaded = cS2s && cS2s.rps < config.rate * 1.1;
  const readingRate = overloaded
    ? `- The two-sidecar path saturated at ${int(cS2s.rps)} req/s in the closed loop of this run, below the ${config.rate} req/s asked for: at that rate
  requests queue (in the generator's connection pool and in the sidecars) for the whole measured window, so ${
    s2s && none(s2s)
      ? `they wait past the generator's 5 s limit and fail (the generator then drops the connection of a request already sent,
  so the sidecars' work on it is lost too: under overload nothing completes)`
      : `the
  fixed-rate "added" figures above are mostly queueing time, not the cost of two hops, and they are far above daprd's`
  }.${
    lowS2s && lowDirect
      ? ` At ${config.lowRate} req/s${cS2s.rps > config.lowRate * 1.5 ? ', well below saturation,' : ''} the two sidecars added ${triple(lowS2s, lowDirect)}
  (p50 / p90 / p99), ${lowS2s.p50 - lowDirect.p50 < DAPRD.p50 ? 'below' : 'above'} daprd's +${DAPRD.p50} ms at p50 and ${lowS2s.p99 - lowDirect.p99 < DAPRD.p99 ? 'below' : 'above'} its +${DAPRD.p99} ms at p99.`
      : ''
  }
`
    : '';
  const perReq = (r) => (r ? Number(usPer(r.cpuOf.caller, r.rps)) + Number(usPer(r.cpuOf.callee, r.rps)) : NaN);

  writeFileSync(
    outFile,
    `# Service invocation benchmark results

- Date: ${new Date().toISOString()}
- Machine: ${machine}
- Versions: ${versions}
- Command: \`${command}\`
- Settings: ${config.verb} with ${config.verb === 'GET' ? 'no body' : `a ${config.bodyBytes}-byte body`}, the app answers 200 with ${config.bodyBytes} bytes; fixed rate ${config.rate} req/s, open loop,
  ${config.openWarmupMs / 1000} s warm-up + ${config.openDurationMs / 1000} s measured per path; saturation closed loop, ${config.concurrency} concurrent, ${config.warmupMs / 1000} s warm-up + ${config.durationMs / 1000} s measured per path${
    low.length ? `; lower fixed rate ${config.lowRate} req/s, ${config.openWarmupMs / 1000} s warm-up + ${config.lowDurationMs / 1000} s measured` : ''
  }; before that, every path primed with an unrecorded ${config.primeMs / 1000} s closed loop (${config.concurrency} concurrent${
    Object.keys(primed).length ? `, ≈ ${Object.entries(primed).map(([id, n]) => `${int(n)} ${id}`).join(', ')} requests` : ''
  }); whole run ${took} s including the build.

## Headline

${headline}

| added latency, app → sidecar → sidecar → app vs app → app | layotto-ts at ${config.rate} req/s, this run |${lowS2s && lowDirect ? ` layotto-ts at ${config.lowRate} req/s, this run |` : ''}${seqS2s && seqDirect ? ' layotto-ts, one request at a time, this run |' : ''} daprd at 1000 req/s (published) |
|---|---:|${lowS2s && lowDirect ? '---:|' : ''}${seqS2s && seqDirect ? '---:|' : ''}---:|
${['p50', 'p90', 'p99']
  .map((k) => `| ${k} | ${added ? `${plus(added[k], 2)} ms` : '–'} |${lowS2s && lowDirect ? ` ${plus(lowS2s[k] - lowDirect[k], 2)} ms |` : ''}${seqS2s && seqDirect ? ` ${plus(seqS2s[k] - seqDirect[k], 2)} ms |` : ''} +${DAPRD[k]} ms |`)
  .join('\n')}

daprd's figures are the ones issue 4 quotes for HTTP. Dapr's docs page "Service invocation performance"
(docs.dapr.io/operations/performance-and-scalability/perf-service-invocation) gives the same order of magnitude for
1000 req/s: +1.40 ms p90 / +2.10 ms p99 (v1.0), +1.20 ms p90 / +2.50 ms p99 (v1.12).

## Fixed rate (open loop, ${config.rate} req/s)

${openTable}

## Saturation (closed loop, ${config.concurrency} concurrent)

${closedTable}
${lowSection}${seqSection}
## Setup

- **Target app** (\`invoke-app.mjs\`, its own process): a bare \`node:http\` server answering every request 200 with the
  same ${config.bodyBytes}-byte text body.
- **Sidecars**: \`node dist/main.js\`, each with daprd's flags and its own free ports: the callee with
  \`--app-id ${TARGET} --app-port <app>\`, the caller with \`--app-id ${CALLER}\` and no app (the load generator is
  the calling app); both \`--layotto-grpc-port 0 --dapr-internal-grpc-port <free> --dapr-internal-grpc-listen-address 127.0.0.1
  --dapr-listen-addresses 127.0.0.1 --metrics-port <free> --resources-path <empty dir> --log-level warn\`, no
  Configuration, so name resolution is the sqlite default, in a private \`HOME\` made for the run (its \`.dapr/nr.db\`).
- **Paths**: direct = \`${config.verb} http://127.0.0.1:<app>/${METHOD}\`; sidecar → sidecar = \`${config.verb} /v1.0/invoke/${TARGET}/method/${METHOD}\` on the
  caller's Dapr HTTP port (caller → callee over the internal gRPC port → app over HTTP); self = the same URL on the
  callee's own HTTP port (one sidecar, straight to its app). Before any load every path must return the app's exact bytes;
  during the load any status but 200 or any other answer size is an error.
- **Generator**: \`loadgen.mjs\` with \`targets-invoke.mjs\`, a forked process, the same code for every path: one undici
  keep-alive \`Pool\` (${config.concurrency} connections; every request fails after 5 s from its send, time queued in the pool
  included). Open loop: a 1 ms timer fires every request that is due, latency from send to the end of the response, in an
  HDR histogram; "send lag" is how late requests left; "completed req/s" counts the requests sent in the measured window
  that succeeded. A row marked *over capacity* asked for more than the path can serve: requests queue, the late ones time
  out (errors), and the percentiles are those of the survivors, so that row's completed req/s and µs/req are left out.
  Closed loop: ${config.concurrency} loops each sending its next request when the previous one ends.
- **CPU**: \`/proc/<pid>/stat\` of each process over the measured window (\`runload.mjs\`), caller and callee sidecar sampled
  separately; µs/req = its CPU time per completed request. The self row's one sidecar is in the caller columns. "app
  µs/req" is only sampled on the direct and self rows; "other CPU" is the rest of the machine (the app on the
  sidecar → sidecar row, other jobs, kernel time not charged to a process).
- **Memory**: after all load the caller sidecar had ${f(rss.caller, 1)} MB RSS (peak ${f(rss.callerPeak, 1)} MB), the callee ${f(rss.callee, 1)} MB (peak ${f(rss.calleePeak, 1)} MB).

## Reading

- Added latency at ${config.rate} req/s (the issue's question), sidecar → sidecar against direct: ${
    added ? `p50 ${vs('p50')}, p90 ${vs('p90')},
  p99 ${vs('p99')}.` : s2s && none(s2s) ? 'none measurable, every request of the measured window timed out.' : 'not run.'
  }${drift && oDirect ? ` The direct path measured again after the sidecar rows moved by ${plus(drift.p50 - oDirect.p50)} / ${plus(drift.p90 - oDirect.p90)} / ${plus(drift.p99 - oDirect.p99)} ms (p50 / p90 / p99): differences of that size are noise on this box.` : ''}
${readingRate}${
    seqS2s && seqDirect
      ? `- One request at a time, with no queue of the benchmark's own, the two sidecars added ${triple(seqS2s, seqDirect)} (p50 / p90 / p99)${
          seq.find((r) => r.id === 'self') ? ` and one sidecar (self) ${triple(seq.find((r) => r.id === 'self'), seqDirect)}` : ''
        }: the cost of the hops themselves on this machine, ${seqS2s.p50 - seqDirect.p50 < DAPRD.p50 ? 'below' : 'above'} daprd's +${DAPRD.p50} ms at p50.
`
      : ''
  }- At saturation the two-sidecar path reached ${cS2s && cDirect ? `${(cS2s.rps / cDirect.rps).toFixed(2)}× the direct path's req/s` : '–'}; every request there costs the CPU of two
  sidecars on the same ${config.cores} cores the generator and the app use, so this ratio is this machine's limit for the whole
  stack, not the sidecars' alone; the µs/req columns are the steadier comparison: the caller and callee together spent
  ${f(perReq(cS2s), 0)} µs of CPU per request at saturation, against ${cDirect ? usPer(cDirect.cpuOf.app, cDirect.rps) : '–'} µs for the bare app answering it directly.${
    lowDirect && cDirect
      ? `
- CPU per request is higher at low rates for every process here, the bare app included (${usPer(lowDirect.cpuOf.app, lowDirect.rps)} µs/req at ${config.lowRate} req/s
  against ${usPer(cDirect.cpuOf.app, cDirect.rps)} µs/req at saturation): each wake-up costs on this VM, and at low rates there is one per request.
  Compare the saturation µs/req.`
      : ''
  }
- For CPU, Dapr's docs give 0.48 vCPU per 1000 req/s for a daprd sidecar (v1.0; 0.45 in v1.12), that is about 450-480 µs of
  CPU per request per sidecar, with mTLS and tracing on, on other hardware.${
    cS2s
      ? ` Here, at saturation, the caller spent ${usPer(cS2s.cpuOf.caller, cS2s.rps)} µs and the callee ${usPer(cS2s.cpuOf.callee, cS2s.rps)} µs per request, ${(
          perReq(cS2s) /
          2 /
          465
        ).toFixed(1)}× daprd's figure on average (this machine runs the bare app at ${cDirect ? usPer(cDirect.cpuOf.app, cDirect.rps) : '–'} µs/req, which says little about how it compares with theirs).`
      : ''
  }
- The comparison with daprd is indicative, not like for like: daprd's figures come from a Kubernetes cluster (load tester
  and target on different 4-core nodes, sidecars capped at 0.5 vCPU, mTLS and tracing on, 1 KB payload, the baseline
  without any of these); here everything (generator, two sidecars, app) shares ${config.cores} cores on one host, over loopback,
  without mTLS or trace export, with a ${config.bodyBytes}-byte answer. Sharing the cores adds queueing to the sidecar rows; having no
  network and no TLS takes latency away from them.
- The generator runs on the same box, so its own CPU and timer resolution (1 ms) are part of every row, the direct one
  included; "other CPU" shows how busy the rest of the machine was (other engineers' test suites run on it too).
${notes.length ? `\n## Notes\n\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`,
  );
  log(`wrote ${relative(ROOT, outFile)} (${took} s). ${headline}`);
}

main().catch(async (e) => {
  log(`failed: ${e.stack ?? e}`);
  for (const c of children) log(`output of pid ${c.proc.pid}:\n${c.output().slice(-4000)}`);
  await Promise.race([stopAll(), sleep(15_000)]);
  process.exit(1);
});
