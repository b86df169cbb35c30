// Stand-ins for the cluster's unit suites: configurations through the real schema, and attempts
// that answer from a script per endpoint port (a status, a connect failure, a reset, or hanging
// until their signal fires), recording what they were asked and what was discarded.
import pino from 'pino';
import { type ClusterConfig, meshProxySchema, type RetryConfig } from '../config';
import { createCluster } from './index';
import { type AttemptResult, type Cluster, type Endpoint, type PolicyLookup, UpstreamError } from './types';

export const silentLog = pino({ level: 'silent' });

export const noPolicies = (): PolicyLookup => ({ timeouts: new Map(), retries: new Map(), circuitBreakers: new Map() });

function manifest(spec: Record<string, unknown>) {
  return meshProxySchema.parse({ apiVersion: 'layotto.io/v1', kind: 'MeshProxy', metadata: { name: 'test' }, spec }).spec;
}

export const clusterConfig = (c: Record<string, unknown>): ClusterConfig => manifest({ clusters: [{ name: 'c', ...c }] }).clusters[0]!;

/** A route's `retries:` block as the schema fills it in. */
export const retryConfig = (r: Record<string, unknown>): RetryConfig =>
  manifest({ listeners: [{ name: 'l', address: 1, routes: [{ cluster: 'c', retries: r }] }] }).listeners[0]!.routes[0]!.retries!;

export function testCluster(c: Record<string, unknown>, policies = noPolicies()): Cluster {
  return createCluster(clusterConfig(c), { policies, log: silentLog });
}

/** A status (HTTP, or gRPC as {grpc: code}), or no answer: a refused connection, a reset, or hanging until aborted. */
export type Answer = number | { grpc: number } | 'connect' | 'reset' | 'hang';

export interface Script {
  attempt: (ep: Endpoint, signal: AbortSignal) => Promise<AttemptResult<string>>;
  /** Ports in attempt order. */
  calls: number[];
  /** Values of the discarded answers. */
  discarded: string[];
  /** Signals the attempts got. */
  signals: AbortSignal[];
}

/** Answers per port in order; the last one repeats. */
export function script(byPort: Record<number, Answer[]>): Script {
  const s: Script = { calls: [], discarded: [], signals: [], attempt: undefined! };
  const used = new Map<number, number>();
  s.attempt = (ep, signal) => {
    s.calls.push(ep.port);
    s.signals.push(signal);
    const list = byPort[ep.port] ?? [200];
    const i = used.get(ep.port) ?? 0;
    used.set(ep.port, i + 1);
    const a = list[Math.min(i, list.length - 1)]!;
    if (a === 'connect') return Promise.reject(new UpstreamError('connect-failure', 'connect ECONNREFUSED'));
    if (a === 'reset') return Promise.reject(new UpstreamError('reset', 'socket hang up'));
    if (a === 'hang') return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    const grpc = typeof a === 'object';
    const status = grpc ? a.grpc : a;
    const value = `${ep.port}:${status}`;
    return Promise.resolve({ status, protocol: grpc ? 'grpc' : 'http', value, discard: () => void s.discarded.push(value) });
  };
  return s;
}

export const endpoints = (...ports: number[]): string[] => ports.map((p) => `127.0.0.1:${p}`);
