// sequencer.redis: Layotto's layout, one string counter per key advanced with INCRBY (1 per id, or
// a segment's size). Scripts answer with GET's bulk string so int64 ids never pass through a double.
import type { Redis } from 'ioredis';
import { connectRedis, parseRedisMetadata, closeRedis, pingRedis } from '../../common/redis';
import type { ComponentMetadata } from '../../types';
import { applyBiggerThan, commonInit } from '../metadata';
import type { GetNextIdRequest, SequencerStore } from '../types';

/** INCRBY, then the value as a string. */
const ADVANCE = `redis.call("INCRBY", KEYS[1], ARGV[1])
return redis.call("GET", KEYS[1])`;

/** Raises the counter to ARGV[1] unless it is already there (non-negative decimal strings compared exactly). */
const AT_LEAST = `local cur = redis.call("GET", KEYS[1])
local want = ARGV[1]
if cur == false or #cur < #want or (#cur == #want and cur < want) then
  redis.call("SET", KEYS[1], want)
end
return redis.call("GET", KEYS[1])`;

type ScriptFn = (key: string, arg: string) => Promise<string>;

export class RedisSequencer implements SequencerStore {
  private client?: Redis;

  async init(md: ComponentMetadata): Promise<void> {
    const biggerThan = commonInit(md);
    const client = await connectRedis(parseRedisMetadata(md.properties), 'redis sequencer');
    client.defineCommand('seqAdvance', { numberOfKeys: 1, lua: ADVANCE });
    client.defineCommand('seqAtLeast', { numberOfKeys: 1, lua: AT_LEAST });
    this.client = client;
    await applyBiggerThan('redis sequencer', biggerThan, (key, n) => this.script('seqAtLeast')(key, n.toString()), () => this.close());
  }

  features(): readonly string[] {
    return [];
  }

  ping(): Promise<void> {
    if (!this.client) throw new Error('redis sequencer is not initialized');
    return pingRedis(this.client);
  }

  async getNextId(req: GetNextIdRequest): Promise<bigint> {
    return BigInt(await this.script('seqAdvance')(req.key, '1'));
  }

  async getSegment(req: { key: string; size: number }): Promise<{ from: bigint; to: bigint }> {
    const to = BigInt(await this.script('seqAdvance')(req.key, String(req.size)));
    return { from: to - BigInt(req.size) + 1n, to };
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await closeRedis(c);
  }

  private script(name: 'seqAdvance' | 'seqAtLeast'): ScriptFn {
    if (!this.client) throw new Error('redis sequencer is not initialized');
    return (this.client as unknown as Record<string, ScriptFn>)[name]!.bind(this.client);
  }
}
