// Turns the benchmark results into the markdown printed to the console and written to RESULTS.md.
import { execFileSync } from 'node:child_process';
import os from 'node:os';

const f = (n, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : '–');
const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const pct = (n) => (Number.isFinite(n) ? `${Math.round(n)}%` : '–');
const ratio = (a, b) => (Number.isFinite(a) && b > 0 ? `${(a / b).toFixed(2)}×` : '–');
const verdict = (ok) => (ok === undefined ? '–' : ok ? 'met' : '**missed**');

export function closedTable(rows) {
  const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
  const lines = [
    '| target | req/s | p50 ms | p99 ms | errors | vs direct | server CPU | server CPU µs/req | redis CPU | generator CPU | other CPU |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const ref = byId[r.op === 'save' ? 'direct-save' : 'direct-get'];
    lines.push(
      `| ${r.title} | ${int(r.rps)} | ${f(r.p50, 3)} | ${f(r.p99, 3)} | ${r.errors}${r.firstError ? ` (${r.firstError.slice(0, 40)})` : ''} | ${
        r.id.startsWith('direct') ? '1.00×' : ratio(r.rps, ref?.rps)
      } | ${pct(r.serverCpu)} | ${f((r.serverCpu / 100 / r.rps) * 1e6, 1)} | ${pct(r.redisCpu)} | ${pct(r.genCpu)} | ${pct(Math.max(0, r.otherCpu))} |`,
    );
  }
  return lines.join('\n');
}

export function openTable(rows) {
  const direct = rows.find((r) => r.id === 'direct-get');
  const lines = [
    '| target | achieved req/s | p50 ms | p99 ms | added p50 ms | added p99 ms | errors | send lag p99 ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const self = r === direct;
    lines.push(
      `| ${r.title} | ${int(r.rps)} | ${f(r.p50, 3)} | ${f(r.p99, 3)} | ${self ? '–' : f(r.p50 - direct?.p50, 3)} | ${
        self ? '–' : f(r.p99 - direct?.p99, 3)
      } | ${r.errors} | ${f(r.lagP99Ms, 3)} |`,
    );
  }
  return lines.join('\n');
}

/** The three targets of the issue, each with its measured value. */
export function targetsTable({ closed, open, idleRss }) {
  const get = (rows, id) => rows.find((r) => r.id === id);
  const http = get(closed, 'http-get');
  const floor = get(closed, 'floor-get');
  const oDirect = get(open, 'direct-get');
  const oHttp = get(open, 'http-get');
  const throughput = http && floor ? http.rps / floor.rps : NaN;
  const addedP50 = oHttp && oDirect ? oHttp.p50 - oDirect.p50 : NaN;
  const known = (x) => (Number.isFinite(x) ? x : undefined);
  return [
    '| goal | target | measured | verdict |',
    '|---|---|---:|---|',
    `| Dapr HTTP GET throughput vs floor (fastify + ioredis) | ≥ 0.90× | ${f(throughput)}× | ${verdict(known(throughput) && throughput >= 0.9)} |`,
    `| Added p50 latency at 1000 req/s, HTTP GET vs direct Redis | ≤ +0.30 ms | +${f(addedP50, 3)} ms | ${verdict(known(addedP50) !== undefined ? addedP50 <= 0.3 : undefined)} |`,
    `| Idle RSS of the sidecar (startup + 2 s) | ≤ 80 MB | ${f(idleRss, 1)} MB | ${verdict(known(idleRss) !== undefined ? idleRss <= 80 : undefined)} |`,
  ].join('\n');
}

export function renderMarkdown({ date, machine, command, config, closed, open, idleRss, settledRss, loadedRss, peakRss, notes }) {
  return `# State benchmark results

- Date: ${date}
- Machine: ${machine}
- Command: \`${command}\`
- Settings: closed loop ${config.concurrency} concurrent requests, ${config.warmupMs / 1000} s warm-up + ${config.durationMs / 1000} s measured per target; fixed rate ${config.rate} req/s, ${config.openWarmupMs / 1000} s warm-up + ${config.openDurationMs / 1000} s measured; ~100-byte JSON values over ${config.keys} keys.

## Goals

${targetsTable({ closed, open, idleRss })}

## Throughput (closed loop, ${config.concurrency} concurrent)

${closedTable(closed)}

"vs direct" compares with the ioredis reference for the same operation (GET: \`HGET key data\`; SAVE: \`HSET key data v version 1\`).
CPU columns are % of one core over the measured window (server = the floor or sidecar process; µs/req = its CPU time per request, which stays comparable when the shared cores are the limit; other = the rest of the machine, e.g. other jobs, kernel network time not charged to a process) (the machine has ${config.cores}; generator, server and Redis share them).

## Added latency at a fixed rate (open loop, ${config.rate} req/s)

${openTable(open)}

## Memory

Sidecar RSS (VmRSS): ${f(idleRss, 1)} MB idle at healthy + 2 s; ${f(settledRss, 1)} MB at healthy + 12 s (after V8's idle memory reducer has run); ${f(loadedRss, 1)} MB after all load; peak (VmHWM) ${f(peakRss, 1)} MB.
${notes.length ? `\n## Notes\n\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`;
}

/** Closed-loop rows compared with the row named by each row's `ref` (ids/locks benchmark). */
export function refTable(rows) {
  const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
  const lines = [
    '| target | req/s | p50 ms | p99 ms | errors | vs direct | server CPU | server CPU µs/req | redis CPU | generator CPU |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.title} | ${int(r.rps)} | ${f(r.p50, 3)} | ${f(r.p99, 3)} | ${r.errors}${r.firstError ? ` (${r.firstError.slice(0, 40)})` : ''} | ${
        r.ref ? ratio(r.rps, byId[r.ref]?.rps) : '1.00×'
      } | ${pct(r.serverCpu)} | ${r.ref ? f((r.serverCpu / 100 / r.rps) * 1e6, 1) : '–'} | ${pct(r.redisCpu)} | ${pct(r.genCpu)} |`,
    );
  }
  return lines.join('\n');
}

/** The commit a run measured and how many paths under src/ differed from it (0 = clean). */
export function checkoutState(root) {
  try {
    const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8' });
    return { commit: git('rev-parse', '--short', 'HEAD').trim(), dirty: git('status', '--porcelain', '--', 'src').split('\n').filter(Boolean).length };
  } catch {
    return { commit: '?', dirty: 0 }; // not a checkout
  }
}

/** The machine line of a results file: CPU, cores, memory, kernel, and the load the run met. */
export function machineLine(loadAtStart) {
  const cpu = os.cpus();
  return `${cpu[0]?.model.trim() ?? '?'}, ${cpu.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${os.release()}; 1-min load average ${loadAtStart.toFixed(1)} when the run started, ${os.loadavg()[0].toFixed(1)} at the end`;
}
