// A server process of a test's own (redis-server, mosquitto, nats-server, etcd) on a free port with
// a temp dir, for suites that stop or kill their broker without disturbing the shared one. The
// binary must be on PATH: without it the suite is skipped with one loud line, or fails in CI
// (CI installs them). Each suite keeps only what is its server's own: its args and extra methods.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inCI, reachable } from '../../test/services';
import { until } from '../../test/wait';

/**
 * The path of `name` on PATH. Without it: throws in CI, otherwise prints
 * "SKIPPED: no <name> binary on PATH; <skipped> are skipped." once and returns undefined.
 */
export function findBinary(name: string, skipped: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    if (inCI()) throw new Error(`no ${name} binary on PATH (CI requires it)`);
    process.stderr.write(`\n!!! SKIPPED: no ${name} binary on PATH; ${skipped} are skipped.\n\n`);
    return undefined;
  }
}

export interface PrivateServerOptions {
  /** Names the server in errors ("private <name> on <port> did not come up") and its temp dir. */
  name: string;
  binary: string;
  /** The port that accepts connections once the server is up. */
  port: number;
  /** The command line, given the server's temp dir (which outlives stop() and kill()). */
  args: (dir: string) => string[];
}

/** One server process on a fixed port; start() again after stop() or kill() brings it back. */
export class PrivateServer {
  readonly name: string;
  readonly port: number;
  readonly dir: string;
  private proc?: ChildProcess;

  constructor(private readonly opts: PrivateServerOptions) {
    this.name = opts.name;
    this.port = opts.port;
    this.dir = mkdtempSync(join(tmpdir(), `layotto-ts-${opts.name}-`));
  }

  /** Spawns the server and resolves once its port accepts connections (15 s at most). */
  async start(): Promise<void> {
    this.proc = spawn(this.opts.binary, this.opts.args(this.dir), { stdio: 'ignore' });
    try {
      await until(() => reachable('127.0.0.1', this.port, 200), () => `${this.name} on ${this.port}`);
    } catch {
      await this.kill();
      throw new Error(`private ${this.name} on ${this.port} did not come up`);
    }
  }

  /** SIGTERM, then waits for the exit: the server shuts down cleanly. */
  stop(): Promise<void> {
    return this.signal('SIGTERM');
  }

  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void> {
    return this.signal('SIGKILL');
  }

  /** Kills the server and removes its temp dir; safe to call more than once. */
  async remove(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    await exited;
  }
}
