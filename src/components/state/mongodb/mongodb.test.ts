// state.mongodb on the in-memory port fake: contrib's document layout, value mapping, replica-set
// detection and query translation. (The full conformance suite also runs it on the fake, and on
// a real server when MONGODB_URL is set.)
import type { ComponentMetadata } from '../../types';
import { parseQuery } from '../query';
import { createFakeMongo, type FakeMongo } from './fake';
import { toFindOptions, toMongoFilter } from './filter';
import { MongoStateStore } from '.';
import { parseMongoMetadata } from './metadata';

const md = (props: Record<string, string> = { host: 'fake:27017' }): ComponentMetadata => ({
  name: 'mongo',
  type: 'state.mongodb',
  version: 'v1',
  properties: props,
  appId: 'a',
  namespace: '',
});
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function open(replicaSet = true): Promise<{ store: MongoStateStore; fake: FakeMongo }> {
  const fake = createFakeMongo({ replicaSet });
  const store = new MongoStateStore(async () => fake);
  await store.init(md());
  return { store, fake };
}

describe('state.mongodb', () => {
  it("writes contrib's layout: _id, value, _etag (uuid), _ttl; creates the TTL index", async () => {
    const { store, fake } = await open();
    expect(fake.ttlIndex).toBe(true);
    await store.set({ key: 'app||k', value: Buffer.from('{"a":{"b":1}}'), metadata: {}, contentType: 'application/json', ttlInSeconds: 60 });
    const doc = fake.docs.get('app||k')!;
    expect(doc._id).toBe('app||k');
    expect(doc.value).toEqual({ a: { b: 1 } });
    expect(doc._etag).toMatch(UUID);
    expect(doc._ttl).toBeInstanceOf(Date);
    const got = await store.get({ key: 'app||k', metadata: {} });
    expect(got?.etag).toBe(doc._etag);
    expect(got?.metadata?.ttlExpireTime).toMatch(/Z$/);
    await store.set({ key: 'app||k', value: Buffer.from('2'), metadata: {}, contentType: 'application/json' });
    expect(fake.docs.get('app||k')!._ttl).toBeNull();
  });

  it('maps values like contrib: JSON strings keep quotes, UTF-8 bytes become strings, other bytes binary', async () => {
    const { store, fake } = await open();
    await store.set({ key: 's', value: Buffer.from('"hi"'), metadata: {}, contentType: 'application/json' });
    await store.set({ key: 't', value: Buffer.from('plain'), metadata: {} });
    await store.set({ key: 'b', value: Buffer.from([0xff, 0xfe]), metadata: {} });
    expect(fake.docs.get('s')!.value).toBe('"hi"');
    expect(fake.docs.get('t')!.value).toBe('plain');
    expect(Buffer.isBuffer(fake.docs.get('b')!.value)).toBe(true);
    expect((await store.get({ key: 'b', metadata: {} }))?.data).toEqual(Buffer.from([0xff, 0xfe]));
  });

  it('hides documents whose _ttl passed before the TTL reaper removed them', async () => {
    const { store, fake } = await open();
    fake.docs.set('old', { _id: 'old', value: { x: 1 }, _etag: 'e', _ttl: new Date(Date.now() - 1000) });
    expect(await store.get({ key: 'old', metadata: {} })).toBeUndefined();
    expect((await store.query({ query: {}, metadata: {} })).results).toEqual([]);
  });

  it('refuses transactions clearly without a replica set', async () => {
    const { store } = await open(false);
    await expect(store.multi({ operations: [], metadata: {} })).rejects.toThrow('requires connecting to a replica set');
  });

  it('reports an unreachable server at init', async () => {
    const store = new MongoStateStore(async () => {
      throw new Error('Server selection timed out after 5000 ms');
    });
    await expect(store.init(md())).rejects.toThrow('error in connecting to mongodb: Server selection timed out');
  });

  it('translates queries to a filter under "value."', () => {
    const q = parseQuery({
      filter: { OR: [{ EQ: { 'person.org': 'A' } }, { AND: [{ IN: { state: ['CA'] } }, { GTE: { n: 2 } }] }] },
      sort: [{ key: 'n', order: 'DESC' }],
      page: { limit: 3, token: '6' },
    });
    expect(toMongoFilter(q.filter!)).toEqual({
      $or: [{ 'value.person.org': { $eq: 'A' } }, { $and: [{ 'value.state': { $in: ['CA'] } }, { 'value.n': { $gte: 2 } }] }],
    });
    expect(toFindOptions(q)).toEqual({ sort: [['value.n', -1], ['_id', 1]], skip: 6, limit: 3 });
  });

  it('builds the connection URI from host/server fields as contrib does', () => {
    expect(parseMongoMetadata({ host: 'h:27017' }).uri).toBe('mongodb://h:27017/daprStore');
    expect(parseMongoMetadata({ host: 'h', username: 'u', password: 'p@ss', databaseName: 'db', params: 'w=1' }).uri).toBe('mongodb://u:p%40ss@h/db?w=1');
    expect(parseMongoMetadata({ server: 'c.example.net' }).uri).toBe('mongodb+srv://c.example.net/');
    expect(parseMongoMetadata({ connectionString: 'mongodb://x/?replicaSet=rs0' }).uri).toBe('mongodb://x/?replicaSet=rs0');
    expect(() => parseMongoMetadata({})).toThrow("must set 'host' or 'server'");
    expect(() => parseMongoMetadata({ host: 'a', server: 'b' })).toThrow('mutually exclusive');
  });
});
