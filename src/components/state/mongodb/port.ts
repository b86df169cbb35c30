// The small collection-like port state.mongodb is written against: the real driver adapter
// (driver.ts) implements it, and so does the in-memory fake (fake.ts) the unit suite runs on.
export type MongoDoc = Record<string, unknown>;

export interface FindOptions {
  sort?: [string, 1 | -1][];
  skip?: number;
  limit?: number;
}

export interface MongoCollectionPort {
  findOne(filter: MongoDoc): Promise<MongoDoc | null>;
  find(filter: MongoDoc, opts?: FindOptions): Promise<MongoDoc[]>;
  /** updateOne(filter, {$set}, {upsert: true}); a duplicate _id rejects with an error whose code is 11000. */
  upsertOne(filter: MongoDoc, set: MongoDoc): Promise<void>;
  /** Number of documents deleted (0 or 1). */
  deleteOne(filter: MongoDoc): Promise<number>;
}

export interface MongoPort extends MongoCollectionPort {
  /** The TTL index on _ttl (expireAfterSeconds 0), as contrib creates it. */
  ensureTtlIndex(): Promise<void>;
  /** Transactions need a replica set (or mongos). */
  isReplicaSet(): Promise<boolean>;
  withTransaction(fn: (tx: MongoCollectionPort) => Promise<void>): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface MongoConnectOptions {
  uri: string;
  databaseName: string;
  collectionName: string;
  operationTimeoutMs: number;
  writeConcern?: string;
  readConcern?: string;
}

export type MongoConnector = (opts: MongoConnectOptions) => Promise<MongoPort>;

export const DUPLICATE_KEY = 11000;
export const isDuplicateKey = (e: unknown): boolean => typeof e === 'object' && e !== null && (e as { code?: unknown }).code === DUPLICATE_KEY;
