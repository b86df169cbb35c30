// state.redis: byte-compatible with daprd's state.redis (hash per key: data + version), so both
// runtimes can share one Redis. Every write goes through one Lua script (see scripts.ts).
import type { Redis } from 'ioredis';
import type { ComponentMetadata } from '../../types';
import {
  type BulkGetItem,
  type DeleteRequest,
  ETagError,
  type GetRequest,
  type GetResponse,
  type SetRequest,
  StateFeature,
  type TransactionalRequest,
  type TransactionalStateStore,
} from '../types';
import { connectRedis, parseRedisMetadata, type RedisConfig, closeRedis, pingRedis } from '../../common/redis';
import { ARGS_PER_OP, GET, WRITE } from './scripts';
import { settleAll } from '../bulk';

type WriteOp = { kind: 's'; req: SetRequest } | { kind: 'd'; req: DeleteRequest };
type ScriptFn = (...args: unknown[]) => Promise<unknown>;

/** RFC3339 with second precision, as contrib formats ttlExpireTime. */
export const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export class RedisStateStore implements TransactionalStateStore {
  private client?: Redis;
  private cfg?: RedisConfig;

  async init(md: ComponentMetadata): Promise<void> {
    const cfg = parseRedisMetadata(md.properties);
    this.cfg = cfg;
    const client = await connectRedis(cfg, 'redis store');
    client.defineCommand('daprWrite', { lua: WRITE });
    client.defineCommand('daprGet', { numberOfKeys: 1, lua: GET });
    this.client = client;
  }

  features(): readonly string[] {
    // No QUERY_API: that needs RedisJSON + RediSearch (contrib claims it only when the server has them).
    return [StateFeature.ETAG, StateFeature.TRANSACTIONAL, StateFeature.TTL];
  }

  ping(): Promise<void> {
    return pingRedis(this.redis());
  }

  /** One script reads data, version and TTL atomically, in one round trip (as daprd's state.redis). */
  async get(req: GetRequest): Promise<GetResponse | undefined> {
    const reply = (await this.script('daprGetBuffer')(req.key)) as [Buffer | null, Buffer | null, number] | [Buffer] | null;
    if (!reply) return undefined;
    if (reply.length === 1) return { data: reply[0] };
    const [data, version, pttl] = reply;
    if (data === null || version === null) throw new Error("required hash field 'data' or 'version' was not found");
    const res: GetResponse = { data, etag: version.toString() };
    if (pttl > 0) res.metadata = { ttlExpireTime: rfc3339(Date.now() + pttl) };
    return res;
  }

  async bulkGet(reqs: GetRequest[]): Promise<BulkGetItem[]> {
    return Promise.all(
      reqs.map(async (r): Promise<BulkGetItem> => {
        try {
          const res = await this.get(r);
          return res ? { key: r.key, data: res.data, etag: res.etag, metadata: res.metadata } : { key: r.key };
        } catch (e) {
          return { key: r.key, error: (e as Error).message };
        }
      }),
    );
  }

  async set(req: SetRequest): Promise<void> {
    await this.write([{ kind: 's', req }]);
  }

  async delete(req: DeleteRequest): Promise<void> {
    await this.write([{ kind: 'd', req }]);
  }

  /** Each item on its own, like contrib's DefaultBulkStore: failures are joined per key. */
  async bulkSet(reqs: SetRequest[]): Promise<void> {
    await settleAll(reqs, (r) => this.set(r));
  }

  async bulkDelete(reqs: DeleteRequest[]): Promise<void> {
    await settleAll(reqs, (r) => this.delete(r));
  }

  async multi(req: TransactionalRequest): Promise<void> {
    const ops: WriteOp[] = req.operations.map((o) => (o.operation === 'upsert' ? { kind: 's', req: o.request } : { kind: 'd', req: o.request }));
    if (ops.length > 0) await this.write(ops);
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await closeRedis(c);
  }

  /** Runs the WRITE script for a list of operations; maps its failure to ETag errors. */
  private async write(ops: WriteOp[]): Promise<void> {
    const keys: string[] = [];
    const args: (string | Buffer)[] = [];
    for (const op of ops) {
      keys.push(op.req.key);
      if (op.kind === 's') {
        const ttl = op.req.ttlInSeconds ?? this.cfg?.ttlInSeconds;
        const firstWrite = op.req.options?.concurrency === 'first-write' ? '0' : '1';
        args.push('s', setEtag(op.req), op.req.value, firstWrite, ttl === undefined ? '' : String(ttl));
      } else {
        args.push('d', op.req.etag ?? '0', '', '1', '');
      }
    }
    if (args.length !== keys.length * ARGS_PER_OP) throw new Error('internal: bad redis script arguments');
    try {
      await this.script('daprWrite')(keys.length, ...keys, ...args);
    } catch (e) {
      const m = /DAPR_ETAG_MISMATCH (\d+)/.exec((e as Error).message);
      if (!m) throw e;
      const op = ops[Number(m[1]) - 1]!;
      // contrib: a failed delete is always an ETag mismatch; a failed set only when an ETag was given.
      if (op.kind === 'd' || op.req.etag !== undefined) throw new ETagError('mismatch');
      throw new Error(`failed to set key ${op.req.key}: first-write conflict, the key already exists`);
    }
  }

  private script(name: string): ScriptFn {
    const c = this.redis() as unknown as Record<string, ScriptFn>;
    return c[name]!.bind(c);
  }

  private redis(): Redis {
    if (!this.client) throw new Error('redis store is not initialized');
    return this.client;
  }
}

/** contrib's parseETag: "0" without an ETag or with last-write; a non-integer ETag is invalid. */
function setEtag(req: SetRequest): string {
  if (req.options?.concurrency === 'last-write' || req.etag === undefined || req.etag === '') return '0';
  if (!/^[+-]?\d+$/.test(req.etag) || !Number.isSafeInteger(Number(req.etag))) throw new ETagError('invalid', `invalid etag value: ${req.etag}`);
  return String(Number(req.etag));
}
