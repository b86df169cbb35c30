// A throwaway etcd server of the suite's own (free ports, temp data dir) for tests that kill the
// store mid-subscription without disturbing the shared one on 2379. Gated like the shared one, and
// needs the `etcd` binary (CI installs etcd-server); without either the caller skips loudly, or
// fails in CI.
import { requireService } from '../../test/services';
import { findBinary, PrivateServer } from './private-server';
import { freePort } from './sidecar';

export interface PrivateEtcd {
  endpoint: string;
  /** SIGKILLs the server and removes its data dir. */
  kill: () => Promise<void>;
}

/** A private etcd, or undefined (after a loud skip line) when etcd cannot be run here. */
export async function startPrivateEtcd(): Promise<PrivateEtcd | undefined> {
  if (!(await requireService('etcd', '127.0.0.1', 2379))) return undefined;
  const binary = findBinary('etcd', 'the tests that stop an etcd server');
  if (!binary) return undefined;
  const [client, peer] = [await freePort(), await freePort()];
  const peerUrl = `http://127.0.0.1:${peer}`;
  const clientUrl = `http://127.0.0.1:${client}`;
  const server = new PrivateServer({
    name: 'etcd',
    binary,
    port: client,
    args: (dir) => ['--name', 'private', '--data-dir', dir, '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl,
      '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl, '--initial-cluster', `private=${peerUrl}`],
  });
  try {
    await server.start();
  } catch (e) {
    await server.remove();
    throw e;
  }
  return { endpoint: `127.0.0.1:${client}`, kill: () => server.remove() };
}
