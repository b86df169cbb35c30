// Spawns the built binary (dist/main.js) on free ports with a temp resources dir, waits until
// GET /v1.0/healthz answers 204, and stops it afterwards. Used by every compat suite.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');
export const MAIN = join(ROOT, 'dist', 'main.js');

let home: string | undefined;
const suiteHome = (): string => (home ??= mkdtempSync(join(tmpdir(), 'layotto-ts-home-')));

/** Binds `port` on loopback and releases it: resolves with the port, or undefined when it is taken. */
function tryPort(port: number): Promise<number | undefined> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(undefined));
    s.listen(port, '127.0.0.1', () => {
      const got = (s.address() as { port: number }).port;
      s.close(() => res(got));
    });
  });
}

/**
 * Ports are picked below Linux's ephemeral range (32768+), where the kernel hands out nothing for
 * port 0 or outgoing connections. Each jest worker owns its own slice of 10000-31999, so two suites
 * running in parallel never pick the same port between one's probe and its sidecar's bind; inside
 * a worker a cursor walks the slice, so a port handed out is not handed out again soon.
 */
const SLICE = 5_500;
const WORKER = Number(process.env.JEST_WORKER_ID ?? '1');
const sliceBase = 10_000 + (((Number.isInteger(WORKER) && WORKER > 0 ? WORKER : 1) - 1) % 4) * SLICE;
// A random start: suites run one after another in a worker, and the last one's sidecars may linger.
let cursor = Math.floor(Math.random() * SLICE);

/** A port free right now, from this worker's slice. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    cursor = (cursor + 1) % SLICE;
    const port = await tryPort(sliceBase + cursor);
    if (port) return port;
  }
  const any = await tryPort(0);
  if (!any) throw new Error('no free port on 127.0.0.1');
  return any;
}

export interface SidecarOptions {
  appId?: string;
  /** YAML documents written as files into a fresh resources dir: file name -> content. */
  resources?: Record<string, string>;
  /** Use these resource dirs instead (e.g. the top-level components/). */
  resourcesPaths?: string[];
  args?: string[];
  env?: Record<string, string>;
  layotto?: boolean;
  /** Wait for healthz (default true). */
  wait?: boolean;
  /** How long to wait for healthz (default 20 s; a suite starting several sidecars on a busy machine wants more). */
  startupMs?: number;
  /**
   * Start as `start -c config.json` with this Layotto config (built for the free Layotto port);
   * --app-id and --layotto-grpc-port are then left to the file.
   */
  layottoConfig?: (layottoPort: number) => unknown;
}

export interface Sidecar {
  httpPort: number;
  grpcPort: number;
  layottoPort: number;
  metricsPort: number;
  resourcesDir?: string;
  proc: ChildProcess;
  output: () => string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
  exited: Promise<number | null>;
}

/** The sidecar could not bind a port the helper had just found free (another suite took it). */
export class PortTakenError extends Error {}

/** Why a sidecar that should be running has exited, with its output (PortTakenError for EADDRINUSE). */
function exitError(sc: Sidecar): Error {
  const why = `sidecar exited with ${sc.proc.exitCode}:\n${sc.output()}`;
  return /EADDRINUSE/.test(sc.output()) ? new PortTakenError(why) : new Error(why);
}

/**
 * `p`, or the sidecar's exit if that comes first: a client waiting for a sidecar that died at
 * startup (the SDK polls for 30 s) fails at once, with the reason.
 */
export function whileRunning<T>(sc: Sidecar, p: Promise<T>): Promise<T> {
  return Promise.race([p, sc.exited.then(() => Promise.reject(exitError(sc)))]);
}

export async function startSidecar(opts: SidecarOptions = {}): Promise<Sidecar> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first`);
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(opts);
    } catch (e) {
      if (e instanceof PortTakenError && attempt < 3) continue;
      throw e;
    }
  }
}

async function launch(opts: SidecarOptions): Promise<Sidecar> {
  const [httpPort, grpcPort, layottoPort, metricsPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  let resourcesDir: string | undefined;
  const paths = [...(opts.resourcesPaths ?? [])];
  if (opts.resources || (paths.length === 0 && !opts.layottoConfig)) {
    resourcesDir = mkdtempSync(join(tmpdir(), 'layotto-ts-res-'));
    for (const [name, content] of Object.entries(opts.resources ?? {})) writeFileSync(join(resourcesDir, name), content);
    paths.push(resourcesDir);
  }
  let configFile: string | undefined;
  if (opts.layottoConfig) {
    configFile = join(mkdtempSync(join(tmpdir(), 'layotto-ts-cfg-')), 'config.json');
    writeFileSync(configFile, JSON.stringify(opts.layottoConfig(layottoPort), null, 2));
  }
  const args = [
    MAIN,
    ...(configFile ? ['start', '-c', configFile] : ['--app-id', opts.appId ?? 'compat-app', '--layotto-grpc-port', opts.layotto === false ? '0' : String(layottoPort)]),
    '--dapr-http-port', String(httpPort),
    '--dapr-grpc-port', String(grpcPort),
    '--metrics-port', String(metricsPort),
    '--dapr-listen-addresses', '127.0.0.1',
    // Many sidecars run at once: none takes the actuator's fixed 34999; a test's own --actuator-port (later) wins.
    '--actuator-port', '0',
    ...paths.flatMap((p) => ['--resources-path', p]),
    ...(opts.args ?? []),
  ];
  // One private HOME per test file: its sidecars find each other through the default sqlite name
  // registry (~/.dapr/nr.db) without reaching other suites' sidecars or the user's registry.
  const proc = spawn(process.execPath, args, { env: { ...process.env, HOME: suiteHome(), ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  const sc: Sidecar = {
    httpPort,
    grpcPort,
    layottoPort,
    metricsPort,
    resourcesDir,
    proc,
    output: () => out,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
  if (opts.wait !== false) await waitHealthy(sc, opts.startupMs);
  return sc;
}

export async function waitHealthy(sc: Sidecar, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (sc.proc.exitCode !== null) {
      throw exitError(sc);
    }
    try {
      const r = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/healthz`);
      if (r.status === 204) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await sc.stop('SIGKILL');
  throw new Error(`sidecar did not become healthy in ${timeoutMs} ms:\n${sc.output()}`);
}

/** A Component manifest as YAML text. */
export function componentYaml(name: string, type: string, metadata: Record<string, string> = {}, extra = ''): string {
  const md = Object.entries(metadata)
    .map(([k, v]) => `  - name: ${k}\n    value: ${JSON.stringify(v)}`)
    .join('\n');
  return `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: ${type}\n  version: v1\n  metadata:${md ? '\n' + md : ' []'}\n${extra}`;
}
