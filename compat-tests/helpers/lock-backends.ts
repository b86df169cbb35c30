// The lock backends the lock compat suites run their cases on (in-memory always; Redis and etcd
// when they answer: a loud skip, or a failure in CI, otherwise), and small wire helpers they share.
import { requireService } from '../../test/services';

export interface LockBackend {
  type: string;
  metadata: Record<string, string>;
  reachable: () => Promise<boolean>;
}

export const LOCK_BACKENDS: LockBackend[] = [
  { type: 'lock.in-memory', metadata: {}, reachable: async () => true },
  { type: 'lock.redis', metadata: { redisHost: 'localhost:6379' }, reachable: () => requireService('redis', '127.0.0.1', 6379) },
  { type: 'lock.etcd', metadata: { endpoints: '127.0.0.1:2379' }, reachable: () => requireService('etcd', '127.0.0.1', 2379) },
];

/** POST JSON (or raw text) to the Dapr HTTP port; status and parsed body. */
export async function post(port: number, path: string, body: unknown, raw = false): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: raw ? String(body) : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** The rejection of a promise that must fail. */
export async function rejection<E = { code?: number; details?: string; rawMessage?: string; message: string }>(p: Promise<unknown>): Promise<E> {
  try {
    await p;
  } catch (e) {
    return e as E;
  }
  throw new Error('expected the call to fail');
}

export const uniqueRun = (): string => `${Date.now().toString(36)}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
