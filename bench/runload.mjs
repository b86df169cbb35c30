// Runs one load-generator job (a forked loadgen.mjs) and samples the CPU of the server, Redis and
// the whole machine over its measured window. Shared by every benchmark script in bench/.
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, machineBusySeconds } from './procs.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));

export function safeCpu(pid) {
  try {
    return pid ? cpuSeconds(pid) : undefined;
  } catch {
    return undefined;
  }
}

/** Forks one load generator for one job; samples server and Redis CPU over its measured window. */
export function runLoad(job, pids, server) {
  const sample = () => ({ t: performance.now(), server: safeCpu(server && pids[server]), redis: safeCpu(pids.redis), machine: machineBusySeconds() });
  const cpuPct = (a, b, k) => (a?.[k] !== undefined && b?.[k] !== undefined ? ((b[k] - a[k]) / ((b.t - a.t) / 1000)) * 100 : NaN);
  return new Promise((res, rej) => {
    const child = fork(join(HERE, 'loadgen.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const kill = setTimeout(() => child.kill('SIGKILL'), job.warmupMs + job.durationMs + 20_000);
    let start;
    let result;
    let failure;
    child.on('message', (m) => {
      if (m.type === 'measuring') start = sample();
      else if (m.type === 'result') {
        const end = sample();
        result = { ...m, serverCpu: cpuPct(start, end, 'server'), redisCpu: cpuPct(start, end, 'redis') };
        // Everything else the machine did meanwhile (other jobs on the box skew the numbers).
        result.otherCpu = cpuPct(start, end, 'machine') - [result.serverCpu, result.redisCpu, m.genCpu].filter(Number.isFinite).reduce((a, b) => a + b, 0);
      } else if (m.type === 'error') failure = m.message;
    });
    child.once('exit', (code) => {
      clearTimeout(kill);
      if (result) res(result);
      else rej(new Error(`load generator failed (exit ${code}): ${failure ?? 'no result'}`));
    });
    child.send(job);
  });
}

/**
 * Common start of every benchmark: connect to Redis (required), note its version and pid for CPU
 * sampling, and build the sidecar unless told not to.
 */
export async function prepare({ root, redisPort, skipBuild, log }) {
  const { Redis } = await import('ioredis');
  const { execFileSync } = await import('node:child_process');
  const { existsSync } = await import('node:fs');
  const redis = new Redis({ host: '127.0.0.1', port: redisPort, maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect().catch((e) => {
    throw new Error(`Redis at 127.0.0.1:${redisPort} is required: ${e.message}`);
  });
  const info = await redis.info('server');
  const redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
  const redisPid = Number(/process_id:(\d+)/.exec(info)?.[1]);
  const pids = { redis: safeCpu(redisPid) === undefined ? null : redisPid };
  if (!skipBuild) {
    log('npm run build');
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  if (!existsSync(join(root, 'dist', 'main.js'))) throw new Error('dist/main.js is missing: run npm run build');
  return { redis, redisVersion, pids };
}
