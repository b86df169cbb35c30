// bindings.redis (output), as contrib's: the key comes from request metadata `key`; create SETs
// the data (then EXPIRE with `ttlInSeconds`), get answers the value (GETDEL with delete=true; a
// missing key is an empty response, not an error), delete DELs, increment INCRs (TTL as create).
// Connection metadata is the shared Redis settings.
import type { Redis } from 'ioredis';
import { closeRedis, connectRedis, parseRedisMetadata } from '../../common/redis';
import type { ComponentMetadata } from '../../types';
import { BindingOperation, type BindingInvokeRequest, type BindingInvokeResponse, type OutputBinding } from '../types';

const INCREMENT = 'increment';
const OPERATIONS = [BindingOperation.CREATE, BindingOperation.DELETE, BindingOperation.GET, INCREMENT];

/** contrib's metadata.TryGetTTL: absent is no TTL; otherwise a positive integer of seconds. */
function ttlOf(md: Record<string, string>): number | undefined {
  const v = md.ttlInSeconds;
  if (v === undefined || v === '') return undefined;
  if (!/^[+-]?\d+$/.test(v)) throw new Error(`ttlInSeconds value must be a valid integer: actual is '${v}'`);
  const n = Number(v);
  if (n <= 0) throw new Error(`ttlInSeconds value must be higher than zero: actual is ${n}`);
  return n;
}

export class RedisOutputBinding implements OutputBinding {
  private client?: Redis;
  private address = '';

  async init(md: ComponentMetadata): Promise<void> {
    const cfg = parseRedisMetadata(md.properties);
    this.address = `${cfg.host}:${cfg.port}`;
    this.client = await connectRedis(cfg, 'redis binding');
  }

  features(): readonly string[] {
    return [];
  }

  operations(): readonly string[] {
    return OPERATIONS;
  }

  async invoke(req: BindingInvokeRequest): Promise<BindingInvokeResponse | undefined> {
    const key = req.metadata.key;
    if (!key) throw new Error('redis binding: missing key in request metadata');
    try {
      return await this.run(this.redis(), key, req);
    } catch (e) {
      // While the connection is down ioredis only says its retries ran out: name the server instead.
      if (this.client && this.client.status !== 'ready') throw new Error(`redis binding: error connecting to redis at ${this.address}: ${(e as Error).message}`);
      throw e;
    }
  }

  private async run(redis: Redis, key: string, req: BindingInvokeRequest): Promise<BindingInvokeResponse | undefined> {
    switch (req.operation) {
      case BindingOperation.DELETE:
        await redis.del(key);
        return undefined;
      case BindingOperation.GET: {
        const value = req.metadata.delete === 'true' ? await redis.getdelBuffer(key) : await redis.getBuffer(key);
        return { data: value ?? Buffer.alloc(0), metadata: {} };
      }
      case BindingOperation.CREATE:
      case INCREMENT: {
        // The TTL is checked first, so a bad one leaves the key untouched.
        const ttl = ttlOf(req.metadata);
        if (req.operation === INCREMENT) await redis.incr(key);
        else await redis.set(key, req.data);
        if (ttl !== undefined) await redis.expire(key, ttl);
        return undefined;
      }
      default:
        throw new Error(`invalid operation type: ${req.operation}`);
    }
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await closeRedis(c);
  }

  private redis(): Redis {
    if (!this.client) throw new Error('redis binding is not initialized');
    return this.client;
  }
}
