// The load generator, run as a forked child process so its CPU use is separate from the
// orchestrator's. It receives one job over IPC, drives one target, and replies with the result.
//   closed: `concurrency` loops, each sending its next request as soon as the previous one ends.
//   open:   requests fired on a fixed schedule (`rate` per second) regardless of responses.
// Both run a warm-up (not recorded) and then a fixed measured window; every loop stops by itself.
// Latency is measured per request with hrtime from send to full response, in an HDR histogram.
import { createHistogram } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

const now = () => process.hrtime.bigint();
const MS = 1_000_000n;

function newHistogram() {
  return createHistogram({ lowest: 1, highest: 60_000_000_000, figures: 3 });
}

async function closedLoop(target, { concurrency, warmupMs, durationMs }) {
  const hist = newHistogram();
  const warmEnd = now() + BigInt(warmupMs) * MS;
  const end = warmEnd + BigInt(durationMs) * MS;
  let seq = 0;
  let ok = 0;
  let errors = 0;
  let firstError;
  async function loop() {
    for (;;) {
      const t0 = now();
      if (t0 >= end) return;
      const counted = t0 >= warmEnd;
      try {
        await target.call(seq++);
        if (counted) {
          hist.record(Number(now() - t0) || 1);
          ok++;
        }
      } catch (e) {
        if (counted) {
          errors++;
          firstError ??= String(e?.message ?? e);
        }
        await sleep(10); // an instant failure (e.g. connection refused) must not spin the CPU
      }
    }
  }
  const cpu = atWarmEnd(warmupMs);
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { ok, errors, firstError, rps: ok / (durationMs / 1000), hist, cpu: cpu.since() };
}

async function openLoop(target, { rate, warmupMs, durationMs }) {
  const hist = newHistogram();
  const lag = newHistogram(); // how late each request left versus its schedule
  const intervalNs = 1e9 / rate;
  const warmCount = Math.round((rate * warmupMs) / 1000);
  const total = warmCount + Math.round((rate * durationMs) / 1000);
  const start = now();
  let ok = 0;
  let errors = 0;
  let firstError;
  let sent = 0;
  const pending = new Set();
  const fire = (i) => {
    const scheduled = start + BigInt(Math.round(i * intervalNs));
    const t0 = now();
    const counted = i >= warmCount;
    if (counted) lag.record(Number(t0 - scheduled) || 1);
    const p = target.call(i).then(
      () => {
        if (counted) {
          hist.record(Number(now() - t0) || 1);
          ok++;
        }
      },
      (e) => {
        if (counted) {
          errors++;
          firstError ??= String(e?.message ?? e);
        }
      },
    );
    pending.add(p);
    p.finally(() => pending.delete(p));
  };
  const cpu = atWarmEnd(warmupMs);
  // A 1 ms timer fires everything that is due; no busy-waiting, so the generator stays light.
  while (sent < total) {
    const due = Number(now() - start) / intervalNs;
    while (sent < total && sent <= due) fire(sent++);
    if (sent < total) await sleep(1);
  }
  await Promise.all(pending); // bounded: every request has a 5 s timeout
  return { ok, errors, firstError, rps: ok / (durationMs / 1000), hist, lagP99Ms: lag.percentile(99) / 1e6, cpu: cpu.since() };
}

/** Generator CPU use (% of one core) over the measured window. */
function atWarmEnd(warmupMs) {
  let startCpu;
  let startWall;
  const t = setTimeout(() => {
    startCpu = process.cpuUsage();
    startWall = performance.now();
    process.send({ type: 'measuring' });
  }, warmupMs);
  return {
    since() {
      clearTimeout(t);
      if (!startCpu) return NaN;
      const d = process.cpuUsage(startCpu);
      return ((d.user + d.system) / 1000 / (performance.now() - startWall)) * 100;
    },
  };
}

const ms = (ns) => ns / 1e6;

// job.targets picks the module with the request functions (default: the state targets).
process.once('message', async (job) => {
  const { makeTarget } = await import(job.targets ?? './targets.mjs');
  const target = makeTarget(job.spec);
  try {
    const r = job.mode === 'open' ? await openLoop(target, job) : await closedLoop(target, job);
    process.send({
      type: 'result',
      ok: r.ok,
      errors: r.errors,
      firstError: r.firstError,
      rps: r.rps,
      p50: ms(r.hist.percentile(50)),
      p90: ms(r.hist.percentile(90)),
      p99: ms(r.hist.percentile(99)),
      max: ms(r.hist.max),
      mean: ms(r.hist.mean),
      lagP99Ms: r.lagP99Ms,
      genCpu: r.cpu,
    });
  } catch (e) {
    process.send({ type: 'error', message: String(e?.stack ?? e) });
  } finally {
    await Promise.race([target.close(), sleep(2000)]);
    process.disconnect();
  }
});
