// The real MongoDB driver behind the port. Buffers come back as Buffers (promoteBuffers), so raw
// byte values round-trip; server selection and connect are bounded by operationTimeout.
import { type ClientSession, type Collection, type Document, MongoClient, type ReadConcernLevel, type W } from 'mongodb';
import type { FindOptions, MongoCollectionPort, MongoConnectOptions, MongoDoc, MongoPort } from './port';

function ops(col: Collection<Document>, session?: ClientSession): MongoCollectionPort {
  return {
    findOne: async (filter) => (await col.findOne(filter, { session, promoteBuffers: true })) as MongoDoc | null,
    find: async (filter, o: FindOptions = {}) => {
      let cur = col.find(filter, { session, promoteBuffers: true });
      if (o.sort?.length) cur = cur.sort(o.sort);
      if (o.skip) cur = cur.skip(o.skip);
      if (o.limit) cur = cur.limit(o.limit);
      return (await cur.toArray()) as MongoDoc[];
    },
    upsertOne: async (filter, set) => {
      await col.updateOne(filter, { $set: set }, { upsert: true, session });
    },
    deleteOne: async (filter) => (await col.deleteOne(filter, { session })).deletedCount,
  };
}

export async function connectMongo(o: MongoConnectOptions): Promise<MongoPort> {
  const w: W | undefined = o.writeConcern ? (/^\d+$/.test(o.writeConcern) ? Number(o.writeConcern) : (o.writeConcern as W)) : undefined;
  const client = new MongoClient(o.uri, {
    appName: 'layotto-ts',
    serverSelectionTimeoutMS: o.operationTimeoutMs,
    connectTimeoutMS: o.operationTimeoutMs,
    writeConcern: w === undefined ? undefined : { w, journal: true },
    readConcern: o.readConcern ? { level: o.readConcern as ReadConcernLevel } : undefined,
  });
  await client.connect();
  const col = client.db(o.databaseName).collection(o.collectionName);
  return {
    ...ops(col),
    ensureTtlIndex: async () => {
      await col.createIndex({ _ttl: 1 }, { expireAfterSeconds: 0 });
    },
    isReplicaSet: async () => {
      const hello = await client.db('admin').command({ hello: 1 });
      return typeof hello.setName === 'string' || hello.msg === 'isdbgrid';
    },
    withTransaction: async (fn) => {
      const session = client.startSession();
      try {
        await session.withTransaction(() => fn(ops(col, session)), { readConcern: { level: 'snapshot' }, writeConcern: { w: 'majority' } });
      } finally {
        await session.endSession();
      }
    },
    ping: async () => {
      await client.db('admin').command({ ping: 1 });
    },
    close: () => client.close(),
  };
}
