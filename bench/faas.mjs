// FaaS benchmark (npm run bench:faas): calls per second of WebAssembly functions against the same
// logic as a plain route of the same sidecar, in one run, closed loop:
//   trivial    function `hello` on the functions port (header id)   vs  GET /v1.0/healthz
//   state read function `get` (one getState host call)              vs  GET /v1.0/state/mem/k
//   invoke     function `hello` through /v1.0/invoke/hello/method/x (Dapr HTTP → InvokeCore → function)
// Ratios are to the route row of the same pair; the sidecar's CPU per request is sampled too.
// The two guests (GUESTS below, on the SDK in sdk/assemblyscript) are compiled with assemblyscript first.
// Options: --concurrency 16 --warmup 2 --duration 5 --prime 3 --instances 2 --skip-build --out FILE
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import asc from 'assemblyscript/asc';
import { freePort, httpStatus, spawnNode, waitUntil } from './procs.mjs';
import { runLoad } from './runload.mjs';
import { checkoutState, machineLine } from './report.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const { values: opt } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '16' },
    warmup: { type: 'string', default: '2' },
    duration: { type: 'string', default: '5' },
    prime: { type: 'string', default: '3' },
    instances: { type: 'string', default: '2' },
    'skip-build': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const cfg = { concurrency: Number(opt.concurrency), warmupMs: Number(opt.warmup) * 1000, durationMs: Number(opt.duration) * 1000, primeMs: Number(opt.prime) * 1000, instances: Number(opt.instances) };
const outFile = resolve(opt.out ?? join(HERE, 'RESULTS-faas.md'));
const log = (m) => process.stderr.write(`[bench:faas] ${m}\n`);

// `hello` answers the 5 bytes "hello"; `get` answers the value of key "k" in store "mem" (one getState
// host call over the Atomics bridge), the same bytes GET /v1.0/state/mem/k answers.
const GUESTS = {
  hello: `register("hello", (req: Request): Response => Response.text("hello"));`,
  get: `register("get", (req: Request): Response => {
  const v = getState("mem", "k");
  return v == null ? Response.text("missing", 404) : Response.bytes(v);
});`,
};

async function compile(entry, out) {
  let text = '';
  const stream = { write: (s) => ((text += s), true) };
  const { error } = await asc.main([entry, '--outFile', out, '--optimize'], { stdout: stream, stderr: stream });
  if (error) throw new Error(`asc ${entry}: ${text || error}`);
}

async function main() {
  const loadAtStart = os.loadavg()[0];
  if (!opt['skip-build']) {
    log('building');
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
  }
  const res = mkdtempSync(join(os.tmpdir(), 'layotto-ts-bench-faas-'));
  log('compiling the guests');
  const sdk = relative(res, join(ROOT, 'sdk', 'assemblyscript', 'assembly'));
  for (const [id, body] of Object.entries(GUESTS)) {
    writeFileSync(join(res, `${id}.ts`), `import { register, Request, Response, getState } from "${sdk}";\nexport * from "${sdk}/proxy";\n${body}\n`);
    await compile(join(res, `${id}.ts`), join(res, `${id}.wasm`));
  }
  const fn = (id) => `apiVersion: layotto.io/v1\nkind: WasmFunction\nmetadata:\n  name: ${id}\nspec:\n  path: ${id}.wasm\n  instances: ${cfg.instances}\n`;
  writeFileSync(join(res, 'functions.yaml'), `${fn('hello')}---\n${fn('get')}`);
  writeFileSync(join(res, 'mem.yaml'), 'apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: mem\nspec:\n  type: state.in-memory\n  version: v1\n');
  const [http, grpc, faas] = await Promise.all([freePort(), freePort(), freePort()]);
  const args = [join(ROOT, 'dist', 'main.js'), '--app-id', 'bench-faas', '--dapr-http-port', String(http), '--dapr-grpc-port', String(grpc), '--layotto-grpc-port', '0', '--actuator-port', '0', '--enable-metrics', 'false', '--dapr-listen-addresses', '127.0.0.1', '--resources-path', res, '--faas-port', String(faas), '--hot-reload', 'false', '--log-level', 'warn'];
  const sidecar = spawnNode(args, { cwd: ROOT, env: { ...process.env, HOME: mkdtempSync(join(os.tmpdir(), 'layotto-ts-bench-faas-home-')) } });
  try {
    await waitUntil('sidecar', sidecar, async () => (await httpStatus(`http://127.0.0.1:${http}/v1.0/healthz`)) === 204);
    const saved = await fetch(`http://127.0.0.1:${http}/v1.0/state/mem`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[{"key":"k","value":"hello"}]' });
    if (saved.status !== 204) throw new Error(`saving the state key: ${saved.status}`);
    // The Dapr HTTP API answers the JSON value ("hello" with quotes, 7 bytes); the function the raw stored bytes (same 7).
    const rows = [
      { pair: 'trivial', title: 'route: GET /v1.0/healthz', spec: { port: http, path: '/v1.0/healthz', status: 204, bytes: 0 } },
      { pair: 'trivial', title: 'function hello, functions port', spec: { port: faas, path: '/', headers: { id: 'hello' }, bytes: 5 } },
      { pair: 'trivial', title: 'function hello, via /v1.0/invoke', spec: { port: http, path: '/v1.0/invoke/hello/method/x', bytes: 5 } },
      { pair: 'state read', title: 'route: GET /v1.0/state/mem/k', spec: { port: http, path: '/v1.0/state/mem/k', bytes: 7 } },
      { pair: 'state read', title: 'function get (getState host call), functions port', spec: { port: faas, path: '/', headers: { id: 'get' }, bytes: 7 } },
    ];
    const job = (spec, warmupMs, durationMs) => ({ targets: './targets-faas.mjs', spec: { ...spec, connections: cfg.concurrency }, mode: 'closed', concurrency: cfg.concurrency, warmupMs, durationMs });
    for (const r of rows) {
      log(`priming ${cfg.primeMs / 1000} s: ${r.title}`);
      await runLoad(job(r.spec, cfg.primeMs, 500), {}, null);
    }
    const out = [];
    for (const r of rows) {
      log(`measuring: ${r.title}`);
      const m = await runLoad(job(r.spec, cfg.warmupMs, cfg.durationMs), { sidecar: sidecar.proc.pid }, 'sidecar');
      out.push({ ...r, ...m });
    }
    const base = Object.fromEntries(out.filter((r) => r.title.startsWith('route')).map((r) => [r.pair, r.rps]));
    const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '–');
    const table = [
      '| pair | path | req/s | ratio to the route | p50 ms | p99 ms | sidecar CPU % | CPU µs/req | errors |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|',
      ...out.map((r) => `| ${r.pair} | ${r.title} | ${fmt(r.rps)} | ${fmt(r.rps / base[r.pair], 2)}× | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.serverCpu)} | ${fmt((r.serverCpu / 100 / r.rps) * 1e6)} | ${r.errors}${r.errors ? ` (${r.firstError})` : ''} |`),
    ].join('\n');
    const { commit, dirty } = checkoutState(ROOT);
    const md = `# bench:faas results

Command: \`npm run bench:faas${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` (${new Date().toISOString()}, commit ${commit}${dirty ? `, ${dirty} paths under src/ changed` : ''})

Machine: ${machineLine(loadAtStart)}

One sidecar (\`dist/main.js\`, log level warn, metrics off) with two WasmFunction resources of ${cfg.instances} instances each
(\`hello\`: answers "hello"; \`get\`: one \`getState\` host call on an in-memory store; their source is in \`bench/faas.mjs\`) and the
same logic as plain routes of the same sidecar. Closed loop, ${cfg.concurrency} connections, ${cfg.warmupMs / 1000} s warm-up and
${cfg.durationMs / 1000} s measured per row after ${cfg.primeMs / 1000} s of priming each; a forked load generator
(\`bench/loadgen.mjs\`, undici keep-alive pool). Ratios are to the route row of the same pair.

${table}
`;
    writeFileSync(outFile, md);
    process.stdout.write(`${table}\n\nwritten to ${relative(process.cwd(), outFile)}\n`);
  } finally {
    await sidecar.stop();
  }
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exit(1);
});
