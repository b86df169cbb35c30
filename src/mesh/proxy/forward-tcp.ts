// Bytes to a cluster (TCP listeners and CONNECT tunnels): a connection to an endpoint is one
// attempt through cluster.call(), so a refused or slow connect counts against the endpoint and the
// next endpoint is tried; once connected, both directions are piped with half-close kept (one
// side's FIN reaches the other while the reverse direction still flows).
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ClusterConfig, RetryConfig } from './config';
import { type AttemptResult, type Cluster, type Endpoint, UpstreamError } from './cluster/types';

function connectAttempt(connectTimeout: number): (ep: Endpoint, signal: AbortSignal) => Promise<AttemptResult<Socket>> {
  return (ep, signal) =>
    new Promise((resolve, reject) => {
      const s = connect({ host: ep.host, port: ep.port, allowHalfOpen: true });
      const fail = (e: Error) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        s.destroy();
        reject(e instanceof UpstreamError || signal.aborted ? e : new UpstreamError('connect-failure', e.message, e));
      };
      const onAbort = () => fail(signal.reason as Error);
      const timer = setTimeout(() => fail(new UpstreamError('connect-failure', `connect timeout after ${connectTimeout}ms`)), connectTimeout);
      s.once('error', fail);
      s.once('connect', () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        s.off('error', fail);
        s.setNoDelay(true);
        resolve({ status: 200, protocol: 'http', value: s, discard: () => s.destroy() });
      });
      signal.addEventListener('abort', onAbort, { once: true });
    });
}

/** Retries that try every other endpoint once when a connect fails (schema-shaped, one object per cluster configuration so plans are cached; EDS gives a cluster a new one). */
const retryPlans = new WeakMap<ClusterConfig, RetryConfig>();
function connectRetries(cluster: Cluster): RetryConfig {
  let r = retryPlans.get(cluster.config);
  if (!r) {
    const attempts = Math.min(10, Math.max(0, cluster.config.endpoints.length - 1));
    retryPlans.set(cluster.config, (r = { attempts, retryOn: ['connect-failure'], statuses: [], backoff: 0 }));
  }
  return r;
}

/** A connected socket to one of the cluster's endpoints, or the cluster's error. */
export function connectThrough(cluster: Cluster, signal?: AbortSignal): Promise<Socket> {
  return cluster.call(connectAttempt(cluster.config.connectTimeout), { timeoutMs: 0, retries: connectRetries(cluster), replayable: false, signal });
}

export interface TunnelStats {
  /** Bytes from the downstream to the upstream, and back. */
  sent: number;
  received: number;
}

/**
 * Pipes a and b both ways until both directions ended or either side failed (then both go); an
 * idle tunnel is closed after idleMs (0: never). `done` gets the byte counts once.
 */
export function tunnel(down: Duplex & { bytesRead?: number; bytesWritten?: number }, up: Socket, idleMs: number, done: (s: TunnelStats) => void): void {
  let finished = false;
  const end = () => {
    if (finished) return;
    finished = true;
    down.destroy();
    up.destroy();
    done({ sent: up.bytesWritten, received: up.bytesRead });
  };
  down.on('error', end);
  up.on('error', end);
  down.once('close', end);
  up.once('close', end);
  if (idleMs > 0) {
    up.setTimeout(idleMs, end);
    (down as Socket).setTimeout?.(idleMs, end);
  }
  down.pipe(up);
  up.pipe(down);
}
