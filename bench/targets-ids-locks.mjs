// Request functions for the ids/locks benchmark, same shape as targets.mjs (`call(i)` resolves when
// the full response is read, throws on anything but success). Each lock request is one acquire plus
// one release on a resource id unique to the run, so no request ever waits on another's lock.
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { TIMEOUT_MS, grpcClient, unary } from './targets.mjs';

/** Compare-and-delete: the release a lock client does by hand (same outcomes as lock.redis). */
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) end return 0`;
export const LOCK_EXPIRE_S = 10;

/**
 * spec: { kind: 'redis'|'layotto-grpc'|'dapr-grpc'|'http', op: 'next-id'|'lock', port, label, run,
 *         store, strong? (GetNextId STRONG instead of WEAK), connections? }
 */
export function makeTarget(spec) {
  const { kind, op, port, label, run, store, strong = false, connections = 16 } = spec;
  const resource = (i) => `${label}-${run}-${i}`;
  const owner = (i) => `owner-${run}-${i}`;
  const counter = `${label}-${run}`;

  if (kind === 'redis') {
    const redis = new Redis({ host: '127.0.0.1', port, commandTimeout: TIMEOUT_MS, maxRetriesPerRequest: 1 });
    const close = () => redis.quit();
    if (op === 'next-id') return { close, call: () => redis.incr(counter) };
    return {
      close,
      async call(i) {
        if ((await redis.set(resource(i), owner(i), 'PX', LOCK_EXPIRE_S * 1000, 'NX')) !== 'OK') throw new Error('lock not acquired');
        if ((await redis.eval(RELEASE, 1, resource(i), owner(i))) !== 1) throw new Error('lock not released');
      },
    };
  }

  if (kind === 'http') {
    if (op !== 'lock') throw new Error('Dapr HTTP has no sequencer API');
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS });
    const post = async (path, body) => {
      const res = await pool.request({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`${path} status ${res.statusCode} ${text.slice(0, 80)}`);
      return JSON.parse(text);
    };
    return {
      close: () => pool.close(),
      async call(i) {
        const body = { resourceId: resource(i), lockOwner: owner(i), expiryInSeconds: LOCK_EXPIRE_S };
        if ((await post(`/v1.0-alpha1/lock/${store}`, body)).success !== true) throw new Error('lock not acquired');
        const { status } = await post(`/v1.0-alpha1/unlock/${store}`, body);
        if (status !== 0) throw new Error(`unlock status ${status}`);
      },
    };
  }

  const layotto = kind === 'layotto-grpc';
  const client = grpcClient(layotto ? 'layotto' : 'dapr', port);
  const close = () => client.close();
  if (op === 'next-id') {
    if (!layotto) throw new Error('Dapr has no sequencer API');
    const req = { store_name: store, key: counter, options: { increment: strong ? 'STRONG' : 'WEAK' } };
    return {
      close,
      async call() {
        if (!(await unary(client, 'GetNextId', req)).next_id) throw new Error('empty next_id');
      },
    };
  }
  const [tryLock, unlock] = layotto ? ['TryLock', 'Unlock'] : ['TryLockAlpha1', 'UnlockAlpha1'];
  return {
    close,
    async call(i) {
      const ids = { resource_id: resource(i), lock_owner: owner(i) };
      const acquire = layotto ? { ...ids, expire: LOCK_EXPIRE_S } : { ...ids, expiry_in_seconds: LOCK_EXPIRE_S };
      if ((await unary(client, tryLock, { store_name: store, ...acquire })).success !== true) throw new Error('lock not acquired');
      const { status } = await unary(client, unlock, { store_name: store, ...ids });
      if (status !== 'SUCCESS') throw new Error(`unlock status ${status}`);
    },
  };
}
