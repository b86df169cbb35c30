// state.mongodb: contrib's document layout ({_id: key, value, _etag: uuid, _ttl: date} with a TTL
// index on _ttl), written against a small port so it runs on the real driver or on a fake.
import { randomUUID } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { ComponentMetadata } from '../../types';
import { settleAll } from '../bulk';
import { nextToken, parseQuery, queryError } from '../query';
import { isJson, isJsonRequest } from '../json-value';
import {
  type BulkGetItem,
  type DeleteRequest,
  ETagError,
  type GetRequest,
  type GetResponse,
  type QueryableStateStore,
  type QueryRequest,
  type QueryResponse,
  type SetRequest,
  StateFeature,
  type TransactionalRequest,
  type TransactionalStateStore,
} from '../types';
import type { MongoConnectOptions } from './port';
import { liveFilter, toFindOptions, toMongoFilter } from './filter';
import { parseMongoMetadata } from './metadata';
import { isDuplicateKey, type MongoCollectionPort, type MongoConnector, type MongoDoc, type MongoPort } from './port';

const rfc3339 = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * contrib's value mapping: JSON values become BSON (a JSON string keeps its quotes, as contrib's
 * %q does), raw bytes are stored as a string. Bytes that are not UTF-8 are stored as BSON binary
 * so they round-trip exactly (contrib would mangle them).
 */
export function encodeValue(req: SetRequest): unknown {
  if (isJsonRequest(req) && isJson(req.value)) {
    const v: unknown = JSON.parse(req.value.toString('utf8'));
    return typeof v === 'string' ? req.value.toString('utf8') : v;
  }
  return isUtf8(req.value) ? req.value.toString('utf8') : Buffer.from(req.value);
}

export function decodeValue(v: unknown): Buffer {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (Buffer.isBuffer(v)) return v;
  return Buffer.from(JSON.stringify(v ?? null), 'utf8');
}

export class MongoStateStore implements TransactionalStateStore, QueryableStateStore {
  private port?: MongoPort;
  private replicaSet = false;
  private name = '';

  /** The connector is swappable so the unit suite can run the store on the in-memory fake. */
  constructor(private readonly connect: MongoConnector = connectDriver) {}

  async init(md: ComponentMetadata): Promise<void> {
    const opts = parseMongoMetadata(md.properties);
    this.name = md.name;
    let port: MongoPort;
    try {
      port = await this.connect(opts);
    } catch (e) {
      throw new Error(`error in connecting to mongodb: ${(e as Error).message}`);
    }
    try {
      await port.ping();
      await port.ensureTtlIndex();
      this.replicaSet = await port.isReplicaSet();
    } catch (e) {
      await port.close().catch(() => {});
      throw new Error(`error in initializing mongodb state store: ${(e as Error).message}`);
    }
    this.port = port;
  }

  features(): readonly string[] {
    // contrib declares TRANSACTIONAL always; without a replica set multi() fails with a clear error.
    return [StateFeature.ETAG, StateFeature.TRANSACTIONAL, StateFeature.QUERY_API, StateFeature.TTL];
  }

  async ping(): Promise<void> {
    await this.db().ping();
  }

  async get(req: GetRequest): Promise<GetResponse | undefined> {
    const doc = await this.db().findOne({ $and: [{ _id: req.key }, liveFilter(new Date())] });
    return doc ? toResponse(doc) : undefined;
  }

  async bulkGet(reqs: GetRequest[]): Promise<BulkGetItem[]> {
    if (reqs.length === 0) return [];
    const docs = await this.db().find({ $and: [{ _id: { $in: reqs.map((r) => r.key) } }, liveFilter(new Date())] });
    const byKey = new Map(docs.map((d) => [String(d._id), d]));
    return reqs.map((r) => {
      const d = byKey.get(r.key);
      return d ? { key: r.key, ...toResponse(d) } : { key: r.key };
    });
  }

  async set(req: SetRequest): Promise<void> {
    await doSet(this.db(), req);
  }

  async delete(req: DeleteRequest): Promise<void> {
    await doDelete(this.db(), req);
  }

  async bulkSet(reqs: SetRequest[]): Promise<void> {
    await settleAll(reqs, (r) => this.set(r));
  }

  async bulkDelete(reqs: DeleteRequest[]): Promise<void> {
    await settleAll(reqs, (r) => this.delete(r));
  }

  async multi(req: TransactionalRequest): Promise<void> {
    if (!this.replicaSet) throw new Error('using transactions with MongoDB requires connecting to a replica set');
    await this.db().withTransaction(async (tx) => {
      for (const op of req.operations) {
        if (op.operation === 'upsert') await doSet(tx, op.request);
        else await doDelete(tx, op.request);
      }
    });
  }

  async query(req: QueryRequest): Promise<QueryResponse> {
    let parsed;
    try {
      parsed = parseQuery(req.query);
    } catch (e) {
      throw queryError(this.name, e);
    }
    const filter: MongoDoc = parsed.filter ? { $and: [liveFilter(new Date()), toMongoFilter(parsed.filter)] } : liveFilter(new Date());
    const docs = await this.db().find(filter, toFindOptions(parsed));
    const results = docs.map((d) => ({ key: String(d._id), data: decodeValue(d.value), etag: String(d._etag ?? '') }));
    return { results, token: nextToken(parsed, results.length) };
  }

  async close(): Promise<void> {
    const p = this.port;
    this.port = undefined;
    await p?.close();
  }

  private db(): MongoPort {
    if (!this.port) throw new Error('mongodb store is not initialized');
    return this.port;
  }
}

/**
 * contrib's setInternal: upsert filtered by _id (+ _etag). A stale ETag, or first-write on an
 * existing key (filtered by a fresh random ETag), makes the upsert collide on _id: a mismatch.
 */
async function doSet(col: MongoCollectionPort, req: SetRequest): Promise<void> {
  const filter: MongoDoc = { _id: req.key };
  if (req.etag !== undefined) filter._etag = req.etag;
  else if (req.options?.concurrency === 'first-write') filter._etag = randomUUID();
  const ttl = req.ttlInSeconds !== undefined && req.ttlInSeconds > 0 ? new Date(Date.now() + req.ttlInSeconds * 1000) : null;
  try {
    await col.upsertOne(filter, { value: encodeValue(req), _etag: randomUUID(), _ttl: ttl });
  } catch (e) {
    if (isDuplicateKey(e)) throw new ETagError('mismatch');
    throw new Error(`error in updating document: ${(e as Error).message}`);
  }
}

async function doDelete(col: MongoCollectionPort, req: DeleteRequest): Promise<void> {
  const filter: MongoDoc = { _id: req.key };
  if (req.etag !== undefined) filter._etag = req.etag;
  const n = await col.deleteOne(filter);
  if (n === 0 && req.etag !== undefined) throw new ETagError('mismatch');
}

function toResponse(doc: MongoDoc): GetResponse {
  const res: GetResponse = { data: decodeValue(doc.value), etag: String(doc._etag ?? '') };
  if (doc._ttl instanceof Date) res.metadata = { ttlExpireTime: rfc3339(doc._ttl) };
  return res;
}

/** Loads the mongodb driver only when a MongoDB component starts: it costs memory every sidecar would pay. */
async function connectDriver(o: MongoConnectOptions): Promise<MongoPort> {
  const { connectMongo } = await import('./driver');
  return connectMongo(o);
}
