// lock.redis: byte-compatible with contrib's standalone Redis lock. The key is the resource id as
// the runtime hands it over (prefix already applied by the core), the value is the owner, set with
// NX and a TTL; release and renewal are compare-then-act Lua scripts. Like contrib it refuses
// failover (Sentinel) and a primary with replicas: an async replica can lose a granted lock.
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { parseMetadata } from '../../metadata';
import { connectRedis, parseRedisMetadata, closeRedis, pingRedis } from '../../common/redis';
import { ComponentConfigError, type ComponentMetadata } from '../../types';
import { assertKeyPrefix } from '../metadata';
import { type LockStore, type TryLockRequest, type UnlockRequest, UnlockStatus } from '../types';
import { KEEP_ALIVE, UNLOCK } from './scripts';

const extra = z.object({ failover: z.stringbool().default(false), redisType: z.string().default('node') });

type ScriptFn = (key: string, ...args: string[]) => Promise<number>;

export class RedisLockStore implements LockStore {
  private client?: Redis;

  async init(md: ComponentMetadata): Promise<void> {
    assertKeyPrefix(md.properties);
    const cfg = parseRedisMetadata(md.properties);
    const { failover, redisType } = parseMetadata(extra, md.properties);
    if (failover) throw new ComponentConfigError('this component does not support connecting to Redis with failover', 'failover');
    if (redisType.toLowerCase() === 'cluster') throw new ComponentConfigError('this component does not support Redis cluster', 'redisType');
    const client = await connectRedis(cfg, 'redis lock');
    try {
      const info = await client.info('replication');
      const slaves = Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0);
      if (slaves > 0) throw new ComponentConfigError('replication is not supported');
    } catch (e) {
      if (e instanceof ComponentConfigError) {
        client.disconnect();
        throw e;
      }
      // Like contrib: a server that does not answer INFO passes the check.
    }
    client.defineCommand('lockRelease', { numberOfKeys: 1, lua: UNLOCK });
    client.defineCommand('lockRenew', { numberOfKeys: 1, lua: KEEP_ALIVE });
    this.client = client;
  }

  features(): readonly string[] {
    return [];
  }

  ping(): Promise<void> {
    return pingRedis(this.redis());
  }

  async tryLock(req: TryLockRequest): Promise<{ success: boolean }> {
    const ok = await this.redis().set(req.resourceId, req.lockOwner, 'PX', req.expiryInSeconds * 1000, 'NX');
    return { success: ok === 'OK' };
  }

  async unlock(req: UnlockRequest): Promise<{ status: UnlockStatus }> {
    return { status: statusOf(await this.script('lockRelease')(req.resourceId, req.lockOwner)) };
  }

  async lockKeepAlive(req: TryLockRequest): Promise<{ status: UnlockStatus }> {
    return { status: statusOf(await this.script('lockRenew')(req.resourceId, req.lockOwner, String(req.expiryInSeconds * 1000))) };
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await closeRedis(c);
  }

  private redis(): Redis {
    if (!this.client) throw new Error('redis lock store is not initialized');
    return this.client;
  }

  private script(name: 'lockRelease' | 'lockRenew'): ScriptFn {
    return (this.redis() as unknown as Record<string, ScriptFn>)[name]!.bind(this.client);
  }
}

/** contrib's reading: any non-negative answer is success (DEL/PEXPIRE count), -1/-2 as declared. */
function statusOf(n: number): UnlockStatus {
  if (n >= 0) return UnlockStatus.SUCCESS;
  if (n === -1) return UnlockStatus.LOCK_DOES_NOT_EXIST;
  if (n === -2) return UnlockStatus.LOCK_BELONGS_TO_OTHERS;
  return UnlockStatus.INTERNAL_ERROR;
}
