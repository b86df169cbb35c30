// Mesh proxy benchmark (npm run bench:proxy): the sidecar's MeshProxy against nginx as a reverse
// proxy, in front of the same upstream, in the same run, driven by the same generator.
//   upstream: nginx serving a static `return 200` of --body bytes (proxy-nginx.mjs), so it is not
//             what limits a run; its own row ("direct") is the reference.
//   nginx:    worker_processes 1, upstream keepalive 64, proxy_http_version 1.1, Connection "",
//             access_log off.
//   proxy:    the built sidecar (node dist/main.js) with one MeshProxy resource and two listeners
//             on the same cluster: "plain" (no filters) and "filtered" (proxy.metrics and a
//             proxy.ratelimit whose limit is never reached, so every request pays for the check);
//             and a second sidecar run with node --max-semi-space-size=32, a plain listener only.
//   floor:    proxy-floor.mjs, the least a Node.js proxy can do per request (raw sockets, nothing
//             else): how much of the gap to nginx is Node itself.
// Generator: proxy-loadgen.mjs (raw keep-alive HTTP/1.1 sockets in worker threads, its own process).
// Each target is primed once, unrecorded (V8 needs ~10 s of load to settle the proxy's path: shorter
// priming measures the JIT, not the proxy), then every round runs
//   (1) closed loop: --connections sockets, --warmup + --duration seconds: req/s, p50/p99;
//   (2) open loop at --rate req/s: p50/p99 and what each proxy adds to the direct row.
// Targets run in a rotated order per round; the report takes the median of the rounds. CPU time of
// the process under test (sidecar or nginx worker), the upstream worker and the generator is
// sampled from /proc over each measured window. Prints the tables and writes RESULTS-proxy.md.
// Options:
//   --rounds 3  --connections 64  --threads 1  --warmup 1  --duration 5  --prime 10
//   --rate 1000  --open-duration 5  --body 100
//   --only direct,nginx,proxy,proxy-filters,proxy-semi,floor   (a subset; no results file unless --out)
//   --pin            upstream + generator on CPU 0, nginx proxy + sidecar on CPU 1 (taskset)
//   --skip-build  --out FILE  --profile DIR   (--profile: node --cpu-prof the sidecars and the floor into DIR)
//   --main FILE   the sidecar's entry point instead of dist/main.js (another build, or a wrapper)
//   --node-arg ARG   a node option for the sidecars (repeatable; e.g. a V8 GC flag)
import { execFileSync, fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuSeconds, freePort, machineBusySeconds, spawnNode, waitUntil } from './procs.mjs';
import { nginxVersion, proxyConfig, startNginx, upstreamConfig } from './proxy-nginx.mjs';
import { checkoutState, machineLine } from './report.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const HOST = 'svc-bench.mesh'; // the Host every request carries (the proxy's route matches it)
const AIM = 0.7; // issue 8: proxy with filters off ≥ 0.7 × nginx's single-worker throughput
// V8's young generation (default 16 MB semi-spaces): the proxy makes short-lived garbage per request,
// and a larger one halves the scavenges; a deployment flag (NODE_OPTIONS), shown as its own row.
const SEMI = '--max-semi-space-size=32';

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
    threads: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '1' },
    duration: { type: 'string', default: '5' },
    prime: { type: 'string', default: '10' },
    rate: { type: 'string', default: '1000' },
    'open-duration': { type: 'string', default: '5' },
    body: { type: 'string', default: '100' },
    only: { type: 'string' },
    pin: { type: 'boolean', default: false },
    'skip-build': { type: 'boolean', default: false },
    out: { type: 'string' },
    profile: { type: 'string' },
    main: { type: 'string' },
    'node-arg': { type: 'string', multiple: true, default: [] },
  },
});
const MAIN = opt.main ? resolve(opt.main) : join(ROOT, 'dist', 'main.js');
const config = {
  rounds: Number(opt.rounds),
  connections: Number(opt.connections),
  threads: Number(opt.threads),
  warmupMs: Number(opt.warmup) * 1000,
  durationMs: Number(opt.duration) * 1000,
  primeMs: Number(opt.prime) * 1000,
  rate: Number(opt.rate),
  openDurationMs: Number(opt['open-duration']) * 1000,
  bodyBytes: Number(opt.body),
  cores: os.cpus().length,
};
const TARGETS = [
  { id: 'direct', title: 'direct: generator → upstream', via: 'upstream', server: 'upstream' },
  { id: 'nginx', title: 'nginx (1 worker, keepalive 64)', via: 'nginx', server: 'nginx' },
  { id: 'proxy', title: 'layotto-ts proxy, filters off', via: 'plain', server: 'sidecar' },
  { id: 'proxy-filters', title: 'layotto-ts proxy, proxy.metrics + proxy.ratelimit', via: 'filtered', server: 'sidecar' },
  { id: 'proxy-semi', title: `layotto-ts proxy, filters off, node ${SEMI}`, via: 'semi', server: 'sidecarSemi' },
  { id: 'floor', title: 'Node floor: proxy-floor.mjs (raw sockets, nothing else)', via: 'floor', server: 'floor' },
];
const only = opt.only ? new Set(opt.only.split(',')) : undefined;
const targets = TARGETS.filter((t) => !only || only.has(t.id));
const outFile = opt.out ? resolve(opt.out) : only || opt.profile || opt.main || opt['node-arg'].length ? undefined : join(HERE, 'RESULTS-proxy.md');
const loadAtStart = os.loadavg()[0];

const log = (msg) => process.stderr.write(`[bench:proxy] ${msg}\n`);
const children = [];
const tmpDirs = [];
const notes = [];

async function stopAll() {
  await Promise.all(children.map((c) => c.stop()));
  for (const d of tmpDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
let watchdog;
function startWatchdog(ms) {
  watchdog = setTimeout(async () => {
    log(`watchdog: the run took over ${Math.round(ms / 1000)} s, stopping`);
    await Promise.race([stopAll(), sleep(15_000)]);
    process.exit(1);
  }, ms);
  watchdog.unref();
}

/** --pin: moves every thread of pid to one CPU (taskset -a -p). */
function pin(pid, cpu) {
  if (opt.pin && pid) execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

/** The MeshProxy resource of a sidecar: its listeners (plain: no filters) on one cluster (the upstream). */
function meshProxyResource(listen, upstreamPort) {
  const routes = [{ name: 'bench', match: { host: HOST, pathPrefix: '/' }, cluster: 'upstream' }];
  const FILTERS = { filtered: [{ type: 'proxy.metrics' }, { type: 'proxy.ratelimit', config: { rules: [{ key: 'client', rate: 1_000_000_000, per: '1s' }] } }] };
  const spec = {
    listeners: Object.entries(listen).map(([name, port]) => ({ name, address: `127.0.0.1:${port}`, filters: FILTERS[name] ?? [], routes })),
    clusters: [{ name: 'upstream', endpoints: [`127.0.0.1:${upstreamPort}`], protocol: 'http1', maxConnections: 128 }],
  };
  // JSON is YAML.
  return JSON.stringify({ apiVersion: 'layotto.io/v1alpha1', kind: 'MeshProxy', metadata: { name: 'bench-proxy' }, spec }, null, 2);
}

const safeCpu = (pid) => {
  try {
    return pid ? cpuSeconds(pid) : NaN;
  } catch {
    return NaN;
  }
};

/**
 * One generator job (a forked proxy-loadgen.mjs) against one target. CPU of `pids` (name → pid)
 * is sampled from the end of the warm-up to the end of the run.
 */
function generate(job, pids) {
  return new Promise((res, rej) => {
    const child = fork(join(HERE, 'proxy-loadgen.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    pin(child.pid, 0); // its worker threads start later and inherit the mask
    const all = { ...pids, generator: child.pid };
    const sample = () => ({ t: performance.now(), machine: machineBusySeconds(), ...Object.fromEntries(Object.entries(all).map(([k, pid]) => [k, safeCpu(pid)])) });
    let start;
    const mark = setTimeout(() => (start = sample()), job.warmupMs + 200); // +200: connection setup
    const kill = setTimeout(() => child.kill('SIGKILL'), job.warmupMs + job.durationMs + 30_000);
    let result;
    let failure;
    child.on('message', (m) => {
      if (m.type === 'result') {
        const end = sample();
        const cpu = {};
        if (start) for (const k of Object.keys(all).concat('machine')) cpu[k] = ((end[k] - start[k]) / ((end.t - start.t) / 1000)) * 100;
        result = { ...m, cpu };
      } else if (m.type === 'error') failure = m.message;
    });
    child.once('exit', (code) => {
      clearTimeout(mark);
      clearTimeout(kill);
      if (result) res(result);
      else rej(new Error(`load generator failed (exit ${code}): ${failure ?? 'no result'}`));
    });
    child.send({ host: '127.0.0.1', hostHeader: HOST, path: '/bench', threads: config.threads, ...job });
  });
}

/** GET /bench with the benchmark's Host (fetch would not send that Host header). */
function get(port) {
  return new Promise((res, rej) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/bench', headers: { host: HOST }, agent: false, timeout: 2000 }, (r) => {
      let text = '';
      r.setEncoding('latin1');
      r.on('data', (d) => (text += d));
      r.on('end', () => res({ status: r.statusCode, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', rej);
    req.end();
  });
}

const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main() {
  const nginx = nginxVersion();
  if (!nginx) throw new Error('nginx is not installed (apt-get install nginx-light or nginx)');
  if (!opt['skip-build']) {
    log('npm run build');
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], timeout: 180_000 });
  }
  if (!existsSync(join(ROOT, 'dist', 'main.js'))) throw new Error('dist/main.js is missing: run npm run build');
  const perRound = targets.length * (config.warmupMs + config.durationMs + config.openDurationMs + 4000);
  startWatchdog(60_000 + targets.length * (config.primeMs + 2000) + config.rounds * perRound);

  const dir = mkdtempSync(join(os.tmpdir(), 'layotto-ts-bench-proxy-'));
  tmpDirs.push(dir);
  const [upstreamPort, nginxPort, plainPort, filteredPort, semiPort, floorPort] = await Promise.all(Array.from({ length: 6 }, freePort));
  const ports = { upstream: upstreamPort, nginx: nginxPort, plain: plainPort, filtered: filteredPort, semi: semiPort, floor: floorPort };
  const body = 'x'.repeat(config.bodyBytes);

  const upstream = startNginx(join(dir, 'upstream'), upstreamConfig(join(dir, 'upstream'), upstreamPort, body));
  children.push(upstream);
  const front = startNginx(join(dir, 'nginx'), proxyConfig(join(dir, 'nginx'), nginxPort, upstreamPort));
  children.push(front);

  // One sidecar with the plain and filtered listeners; another, run with SEMI, with a plain one.
  const sidecars = {};
  const startSidecar = async (name, nodeFlags, listen) => {
    const [httpPort, grpcPort, metricsPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const resDir = join(dir, `resources-${name}`);
    mkdirSync(resDir);
    writeFileSync(join(resDir, 'proxy.yaml'), meshProxyResource(listen, upstreamPort));
    if (opt.profile) mkdirSync(resolve(opt.profile), { recursive: true });
    const profileArgs = opt.profile ? ['--cpu-prof', '--cpu-prof-dir', resolve(opt.profile), '--cpu-prof-name', `proxy-${name}.cpuprofile`] : [];
    const child = spawnNode(
      [
        ...opt['node-arg'],
        ...nodeFlags,
        ...profileArgs,
        MAIN,
        '--app-id', `bench-proxy-${name}`,
        '--dapr-http-port', String(httpPort),
        '--dapr-grpc-port', String(grpcPort),
        '--layotto-grpc-port', '0',
        '--actuator-port', '0',
        '--metrics-port', String(metricsPort),
        '--dapr-listen-addresses', '127.0.0.1',
        '--resources-path', resDir,
        '--log-level', 'warn',
      ],
      { cwd: ROOT, env: { ...process.env, HOME: dir } },
    );
    children.push(child);
    sidecars[name] = child;
  };
  if (targets.some((t) => t.server === 'sidecar')) await startSidecar('sidecar', [], { plain: plainPort, filtered: filteredPort });
  if (targets.some((t) => t.server === 'sidecarSemi')) await startSidecar('sidecarSemi', [SEMI], { semi: semiPort });

  let floor;
  if (targets.some((t) => t.server === 'floor')) {
    const profileArgs = opt.profile ? ['--cpu-prof', '--cpu-prof-dir', resolve(opt.profile), '--cpu-prof-name', 'proxy-floor.cpuprofile'] : [];
    floor = spawnNode([...profileArgs, join(HERE, 'proxy-floor.mjs'), String(floorPort), String(upstreamPort)]);
    children.push(floor);
  }

  // Every path in use must return the upstream's exact body before any load.
  const owner = { upstream, nginx: front, plain: sidecars.sidecar, filtered: sidecars.sidecar, semi: sidecars.sidecarSemi, floor };
  for (const via of new Set(['upstream', ...targets.map((t) => t.via)])) {
    await waitUntil(`${via} answering`, owner[via], async () => {
      const r = await get(ports[via]);
      return r.status === 200 && r.body === body;
    }, 20_000);
  }
  const pids = { upstream: upstream.workerPid(), nginx: front.workerPid(), sidecar: sidecars.sidecar?.proc.pid, sidecarSemi: sidecars.sidecarSemi?.proc.pid, floor: floor?.proc.pid };
  for (const [pid, cpu] of [[upstream.proc.pid, 0], [pids.upstream, 0], [front.proc.pid, 1], [pids.nginx, 1], [pids.sidecar, 1], [pids.sidecarSemi, 1], [pids.floor, 1]]) pin(pid, cpu);
  log(`nginx ${nginx}: upstream worker ${pids.upstream}, proxy worker ${pids.nginx}; sidecars ${Object.entries(sidecars).map(([n, c]) => `${n} pid ${c.proc.pid}`).join(', ') || 'none'}; every path answers the ${config.bodyBytes}-byte body`);

  const serverPids = (t) => ({ server: pids[t.server], ...(t.server === 'upstream' ? {} : { upstream: pids.upstream }) });
  const run = async (t, job, label) => {
    const r = await generate({ port: ports[t.via], ...job }, serverPids(t));
    if (r.errors > 0) notes.push(`${t.title} (${label}): ${r.errors} failed requests (first: ${r.firstError}).`);
    return r;
  };

  if (config.primeMs > 0) {
    for (const t of targets) {
      log(`priming ${t.id} (${config.primeMs / 1000} s, not recorded)`);
      await run(t, { connections: config.connections, warmupMs: config.primeMs, durationMs: 500 }, 'priming');
    }
  }
  const rounds = [];
  for (let round = 0; round < config.rounds; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length]);
    const closed = {};
    const open = {};
    for (const t of order) {
      const c = await run(t, { connections: config.connections, warmupMs: config.warmupMs, durationMs: config.durationMs }, `round ${round + 1} closed`);
      closed[t.id] = c;
      log(`round ${round + 1} closed ${t.id}: ${Math.round(c.rps)} req/s p50 ${c.p50.toFixed(3)} p99 ${c.p99.toFixed(3)} ms; server CPU ${Math.round(c.cpu.server)}%, generator ELU ${c.elu.map((e) => e.toFixed(2)).join('/')}`);
    }
    if (config.rate > 0) {
      for (const t of order) {
        const o = await run(t, { connections: config.connections, warmupMs: 1000, durationMs: config.openDurationMs, rate: config.rate }, `round ${round + 1} open`);
        open[t.id] = o;
        log(`round ${round + 1} open ${t.id} @ ${config.rate}/s: p50 ${o.p50.toFixed(3)} p99 ${o.p99.toFixed(3)} ms`);
      }
    }
    rounds.push({ closed, open });
  }

  const summary = Object.fromEntries(
    targets.map((t) => {
      const cs = rounds.map((r) => r.closed[t.id]);
      const os_ = rounds.map((r) => r.open[t.id]).filter(Boolean);
      const m = (rows, f) => median(rows.map(f));
      return [
        t.id,
        {
          ...t,
          rps: m(cs, (r) => r.rps),
          rpsAll: cs.map((r) => r.rps),
          p50: m(cs, (r) => r.p50),
          p99: m(cs, (r) => r.p99),
          errors: cs.reduce((a, r) => a + r.errors, 0),
          serverCpu: m(cs, (r) => r.cpu.server),
          usPerReq: m(cs, (r) => (r.cpu.server / 100 / r.rps) * 1e6),
          upstreamCpu: m(cs, (r) => r.cpu.upstream ?? r.cpu.server),
          genCpu: m(cs, (r) => r.cpu.generator),
          genElu: m(cs, (r) => Math.max(...r.elu)),
          otherCpu: m(cs, (r) => r.cpu.machine - [r.cpu.server, r.cpu.upstream, r.cpu.generator].filter(Number.isFinite).reduce((a, b) => a + b, 0)),
          openP50: m(os_, (r) => r.p50),
          openP99: m(os_, (r) => r.p99),
          openRps: m(os_, (r) => r.rps),
          openErrors: os_.reduce((a, r) => a + r.errors, 0),
        },
      ];
    }),
  );
  const md = render(summary, { nginx, loadAtEnd: os.loadavg()[0] });
  process.stdout.write(`${md}\n`);
  if (outFile) {
    writeFileSync(outFile, md);
    log(`wrote ${relative(process.cwd(), outFile)}`);
  }
}

const f = (n, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : '–');
const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const pct = (n) => (Number.isFinite(n) ? `${Math.round(n)}%` : '–');
const ratio = (a, b) => (Number.isFinite(a) && b > 0 ? `${(a / b).toFixed(2)}×` : '–');
const signed = (n) => (Number.isFinite(n) ? `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(3)}` : '–');

/** CPU per request of nginx, the Node floor and the proxy, side by side: what the gap is made of. */
function cpuStory(s) {
  const us = (id) => s[id]?.usPerReq;
  if (![us('nginx'), us('floor'), us('proxy')].every(Number.isFinite)) return '';
  const x = (a, b) => `${(a / b).toFixed(1)}×`;
  return `
## CPU per request

nginx's worker spent ${f(us('nginx'), 1)} µs of CPU per proxied request; the Node floor (proxy-floor.mjs: raw sockets,
no routing, streams, promises or filters) ${f(us('floor'), 1)} µs (${x(us('floor'), us('nginx'))} nginx); the mesh proxy with
filters off ${f(us('proxy'), 1)} µs (${x(us('proxy'), us('floor'))} the floor)${Number.isFinite(us('proxy-semi')) ? `, ${f(us('proxy-semi'), 1)} µs with node ${SEMI}` : ''}${
    Number.isFinite(us('proxy-filters')) ? `; proxy.metrics + proxy.ratelimit add ${f(us('proxy-filters') - us('proxy'), 1)} µs` : ''
  }. Throughput follows CPU per request once the proxy's one thread is busy, and all of these share the
machine's ${config.cores} cores with the generator and the upstream.
`;
}

function render(s, { nginx }) {
  const direct = s.direct;
  const ng = s.nginx;
  const plain = s.proxy;
  const goal = plain && ng ? plain.rps / ng.rps : NaN;
  const goalSemi = s['proxy-semi'] && ng ? s['proxy-semi'].rps / ng.rps : NaN;
  // On a loaded machine neither proxy may have a core to itself: the ratio of CPU per request says what
  // the throughput ratio would be with both limited by one busy core.
  const goalCpu = plain && ng ? ng.usPerReq / plain.usPerReq : NaN;
  const verdict = (x) => (Number.isFinite(x) ? (x >= AIM ? 'met' : `**missed** by ${f(AIM - x)}× (${Math.round((100 * x) / AIM)}% of the aim)`) : '–');
  const { commit, dirty } = checkoutState(ROOT);
  const command = `npm run bench:proxy${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const rows = Object.values(s);
  const closed = rows.map(
    (r) =>
      `| ${r.title} | ${int(r.rps)} | ${r.rpsAll.map(int).join(' / ')} | ${r.id === 'direct' ? '1.00×' : ratio(r.rps, direct?.rps)} | ${r.id === 'direct' ? '–' : ratio(r.rps, ng?.rps)} | ${f(r.p50, 3)} | ${f(r.p99, 3)} | ${r.errors} | ${pct(r.serverCpu)} | ${f(r.usPerReq, 1)} | ${r.id === 'direct' ? '–' : pct(r.upstreamCpu)} | ${pct(r.genCpu)} (${f(r.genElu)}) | ${pct(Math.max(0, r.otherCpu))} |`,
  );
  const open = rows.map(
    (r) =>
      `| ${r.title} | ${int(r.openRps)} | ${f(r.openP50, 3)} | ${f(r.openP99, 3)} | ${r.id === 'direct' ? '–' : signed(r.openP50 - direct?.openP50)} | ${r.id === 'direct' ? '–' : signed(r.openP99 - direct?.openP99)} | ${r.openErrors} |`,
  );
  return `# Mesh proxy benchmark results

- Date: ${new Date().toISOString()}
- Machine: ${machineLine(loadAtStart)}
- Checkout: ${commit}${dirty ? ` with ${dirty} uncommitted path(s) under src/` : ''}; Node ${process.version}; nginx ${nginx}
- Command: \`${command}\`
- Settings: ${config.rounds} rounds, medians reported; closed loop ${config.connections} keep-alive connections (${config.threads} generator thread${config.threads > 1 ? 's' : ''}), ${config.warmupMs / 1000} s warm-up + ${config.durationMs / 1000} s measured per target; open loop ${config.rate} req/s, 1 s warm-up + ${config.openDurationMs / 1000} s measured; GET /bench with Host ${HOST}, ${config.bodyBytes}-byte answer; every target primed ${config.primeMs / 1000} s first${opt.pin ? '; pinned: upstream + generator on CPU 0, nginx proxy + sidecar on CPU 1' : ''}.

## Goal

| goal | target | measured | verdict |
|---|---|---:|---|
| proxy (filters off) throughput vs nginx, 1 worker | ≥ ${AIM}× | ${f(goal)}× | ${verdict(goal)} |
| the same, sidecar run with node ${SEMI} | ≥ ${AIM}× | ${f(goalSemi)}× | ${verdict(goalSemi)} |
| the same bounded by CPU: nginx's µs/req ÷ the proxy's (filters off) | ≥ ${AIM}× | ${f(goalCpu)}× | ${verdict(goalCpu)} |

## Throughput (closed loop, ${config.connections} connections)

| target | req/s (median) | req/s per round | vs direct | vs nginx | p50 ms | p99 ms | errors | server CPU | server µs/req | upstream CPU | generator CPU (ELU) | other CPU |
|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${closed.join('\n')}

Server = the process under test (the upstream nginx worker for "direct", the nginx proxy's worker, the sidecar); CPU is % of one
core over the measured window, µs/req its CPU time per request (steadier than req/s when the ${config.cores} shared cores are the
limit). Generator ELU is the busiest generator thread's event-loop utilisation: well under 1 means the generator was not the limit.
Other = the rest of the machine (other jobs, kernel time not charged to these processes).

## Added latency at a fixed rate (open loop, ${config.rate} req/s)

| target | achieved req/s | p50 ms | p99 ms | added p50 ms | added p99 ms | errors |
|---|---:|---:|---:|---:|---:|---:|
${open.join('\n')}

Latency runs from each request's scheduled send time to the end of its answer (a stall is not hidden).
${cpuStory(s)}${notes.length ? `\n## Notes\n\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`;
}

main()
  .catch((e) => {
    log(String(e?.stack ?? e));
    process.exitCode = 1;
  })
  .finally(async () => {
    clearTimeout(watchdog);
    await stopAll();
  });
