// An in-memory stand-in for one MongoDB collection behind the port, for the unit suite (no
// MongoDB server exists on the build machines). It understands exactly the filters the store
// sends: field equality, $eq/$ne/$gt/$gte/$lt/$lte/$in, $and/$or, dotted paths, null = missing.
import { compareJson, compareOp, getPath, jsonEqual, type JsonValue } from '../query';
import { DUPLICATE_KEY, type FindOptions, type MongoCollectionPort, type MongoDoc, type MongoPort } from './port';

function clone<T>(v: T): T {
  if (Buffer.isBuffer(v)) return Buffer.from(v) as T;
  if (v instanceof Date) return new Date(v.getTime()) as T;
  if (Array.isArray(v)) return v.map(clone) as T;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)])) as T;
  return v;
}

/** Dates compare as epoch ms; everything else as JSON. */
const norm = (v: unknown): JsonValue | undefined => (v instanceof Date ? v.getTime() : (v as JsonValue | undefined));

const MONGO_OPS: Record<string, string> = { $eq: 'EQ', $ne: 'NEQ', $gt: 'GT', $gte: 'GTE', $lt: 'LT', $lte: 'LTE' };

function fieldMatches(doc: MongoDoc, path: string, cond: unknown): boolean {
  const raw = getPath(doc, path.split('.'));
  const field = norm(raw);
  const isOps = cond !== null && typeof cond === 'object' && !Array.isArray(cond) && !(cond instanceof Date) && Object.keys(cond).every((k) => k.startsWith('$'));
  if (!isOps) return cond === null ? field === undefined || field === null : jsonEqual(field, norm(cond));
  return Object.entries(cond as Record<string, unknown>).every(([op, arg]) => {
    if (op === '$in') return (arg as unknown[]).some((a) => field !== undefined && jsonEqual(field, norm(a)));
    const name = MONGO_OPS[op];
    if (!name) throw new Error(`fake mongo: unsupported operator ${op}`);
    return compareOp(name, field, norm(arg));
  });
}

export function matchDoc(doc: MongoDoc, filter: MongoDoc): boolean {
  return Object.entries(filter).every(([k, v]) => {
    if (k === '$and') return (v as MongoDoc[]).every((f) => matchDoc(doc, f));
    if (k === '$or') return (v as MongoDoc[]).some((f) => matchDoc(doc, f));
    if (k.startsWith('$')) throw new Error(`fake mongo: unsupported operator ${k}`);
    return fieldMatches(doc, k, v);
  });
}

export interface FakeMongo extends MongoPort {
  docs: Map<string, MongoDoc>;
  ttlIndex: boolean;
}

export function createFakeMongo(opts: { replicaSet?: boolean } = {}): FakeMongo {
  const docs = new Map<string, MongoDoc>();
  let txChain: Promise<void> = Promise.resolve();

  const ops: MongoCollectionPort = {
    findOne: async (filter) => {
      for (const d of docs.values()) if (matchDoc(d, filter)) return clone(d);
      return null;
    },
    find: async (filter, o: FindOptions = {}) => {
      let hits = [...docs.values()].filter((d) => matchDoc(d, filter));
      if (o.sort?.length) {
        const sort = o.sort;
        hits.sort((a, b) => {
          for (const [p, dir] of sort) {
            const c = compareJson(norm(getPath(a, p.split('.'))), norm(getPath(b, p.split('.'))));
            if (c !== 0) return c * dir;
          }
          return 0;
        });
      }
      if (o.skip) hits = hits.slice(o.skip);
      if (o.limit) hits = hits.slice(0, o.limit);
      return hits.map(clone);
    },
    upsertOne: async (filter, set) => {
      for (const d of docs.values()) {
        if (matchDoc(d, filter)) {
          Object.assign(d, clone(set));
          return;
        }
      }
      // No match: an upsert inserts {equality fields of the filter} + $set, failing on a taken _id.
      const id = String(filter._id);
      if (docs.has(id)) throw Object.assign(new Error(`E11000 duplicate key error dup key: { _id: "${id}" }`), { code: DUPLICATE_KEY });
      docs.set(id, { ...clone(filter), ...clone(set) });
    },
    deleteOne: async (filter) => {
      for (const [k, d] of docs) {
        if (matchDoc(d, filter)) {
          docs.delete(k);
          return 1;
        }
      }
      return 0;
    },
  };

  const fake: FakeMongo = {
    ...ops,
    docs,
    ttlIndex: false,
    ensureTtlIndex: async () => {
      fake.ttlIndex = true;
    },
    isReplicaSet: async () => opts.replicaSet ?? true,
    // Transactions run one at a time on a snapshot that is restored when the body throws.
    withTransaction: (fn) => {
      const run = txChain.then(async () => {
        const snapshot = new Map([...docs].map(([k, d]) => [k, clone(d)]));
        try {
          await fn(ops);
        } catch (e) {
          docs.clear();
          for (const [k, d] of snapshot) docs.set(k, d);
          throw e;
        }
      });
      txChain = run.catch(() => {});
      return run;
    },
    ping: async () => {},
    close: async () => {},
  };
  return fake;
}
