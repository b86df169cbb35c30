// A throwaway etcd server of the suite's own (free ports, temp data dir) for tests that kill the
// store mid-subscription without disturbing the shared one on 2379. Gated like the shared one, and
// needs the `etcd` binary (CI installs etcd-server); without either the caller skips loudly.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reachable, requireService } from '../../test/services';
import { freePort } from './sidecar';

export interface PrivateEtcd {
  endpoint: string;
  /** SIGKILLs the server and removes its data dir. */
  kill: () => Promise<void>;
}

function etcdBinary(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    process.stderr.write('\n!!! SKIPPED: no etcd binary on PATH; the tests that stop an etcd server are skipped.\n\n');
    return undefined;
  }
}

/** A private etcd, or undefined (after a loud skip line) when etcd cannot be run here. */
export async function startPrivateEtcd(): Promise<PrivateEtcd | undefined> {
  if (!(await requireService('etcd', '127.0.0.1', 2379))) return undefined;
  const binary = etcdBinary();
  if (!binary) return undefined;
  const [client, peer] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'layotto-ts-etcd-'));
  const peerUrl = `http://127.0.0.1:${peer}`;
  const clientUrl = `http://127.0.0.1:${client}`;
  const proc: ChildProcess = spawn(
    binary,
    ['--name', 'private', '--data-dir', dir, '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl,
      '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl, '--initial-cluster', `private=${peerUrl}`],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  const kill = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100 && !(await reachable('127.0.0.1', client, 200)); i++) await new Promise((r) => setTimeout(r, 100));
  if (!(await reachable('127.0.0.1', client))) {
    await kill();
    throw new Error(`private etcd on ${client} did not come up`);
  }
  return { endpoint: `127.0.0.1:${client}`, kill };
}
