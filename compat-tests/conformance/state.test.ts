// State conformance suite (after components-contrib tests/conformance/state/state.go, dapr.md
// §8.1): every component in config/state/tests.yml is created through the registry, initialized
// with its real manifest's metadata, and run through the cases for the operations it claims.
// A component that does not claim transaction/query must not implement their interfaces either.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { registries } from '../../src/components/builtin';
import { ComponentStore } from '../../src/components/store';
import { settleAll } from '../../src/components/state/bulk';
import { createFakeMongo } from '../../src/components/state/mongodb/fake';
import { MongoStateStore } from '../../src/components/state/mongodb';
import {
  type BulkGetItem,
  BulkStoreError,
  type DeleteRequest,
  ETagError,
  isQueryable,
  isTransactional,
  type SetRequest,
  StateFeature,
  type StateStore,
  type TransactionalOperation,
} from '../../src/components/state/types';
import type { ComponentMetadata } from '../../src/components/types';
import { createCore } from '../../src/core';
import { RuntimeError } from '../../src/errors/runtime-error';
import { optionalEnv, requireService } from '../../test/services';
import { sleep } from '../../test/wait';

const CONFIG = join(__dirname, '..', 'config', 'state');

interface Entry {
  component: string;
  profile?: string;
  operations: string[];
  service?: { name: string; host: string; port: number };
  env?: string;
  fake?: boolean;
  badEtag: string;
  invalidEtag?: string;
}

interface Manifest {
  metadata: { name: string };
  spec: { type: string; version?: string; metadata?: { name: string; value: string }[] };
}

const matrix = parse(readFileSync(join(CONFIG, 'tests.yml'), 'utf8')) as { components: Entry[] };

function loadManifest(e: Entry): ComponentMetadata {
  const text = readFileSync(join(CONFIG, e.component, e.profile ?? '', 'statestore.yaml'), 'utf8').replace(/\$\{(\w+)\}/g, (_, v: string) => process.env[v] ?? '');
  const m = parse(text) as Manifest;
  const properties = Object.fromEntries((m.spec.metadata ?? []).map((x) => [x.name, String(x.value)]));
  return { name: m.metadata.name, type: m.spec.type, version: m.spec.version ?? 'v1', properties, appId: 'conformance', namespace: '' };
}

const JSON_CT = 'application/json';
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

for (const entry of matrix.components) {
  const label = `state.${entry.component}${entry.profile ? ` (${entry.profile})` : ''}`;
  const has = (op: string) => entry.operations.includes(op);

  // Env-gated backends (MongoDB) are known absent at collection time: report them as skipped.
  const gated = entry.env !== undefined && !optionalEnv(entry.env);
  (gated ? describe.skip : describe)(label, () => {
    let store: StateStore;
    let ready = false;
    const run = `conf${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;
    const key = (k: string) => `${run}||${k}`;
    const set = (k: string, value: Buffer, extra: Partial<SetRequest> = {}): Promise<void> =>
      store.set({ key: key(k), value, metadata: {}, ...extra });
    const get = (k: string) => store.get({ key: key(k), metadata: {} });
    // A store without native bulk ops gets contrib's DefaultBulkStore behaviour (what daprd does).
    const bulkSet = (reqs: SetRequest[]) => (store.bulkSet ? store.bulkSet(reqs) : settleAll(reqs, (r) => store.set(r)));
    const bulkDelete = (reqs: DeleteRequest[]) => (store.bulkDelete ? store.bulkDelete(reqs) : settleAll(reqs, (r) => store.delete(r)));
    const bulkGet = (keys: string[]) =>
      store.bulkGet
        ? store.bulkGet(keys.map((k) => ({ key: k, metadata: {} })))
        : Promise.all(keys.map(async (k): Promise<BulkGetItem> => ({ key: k, ...(await store.get({ key: k, metadata: {} })) })));

    /** A test that runs only when the component's backend is available. */
    const check = (name: string, fn: () => Promise<void>, timeout?: number) =>
      it(name, async () => {
        if (ready) await fn();
      }, timeout);

    beforeAll(async () => {
      if (entry.service && !(await requireService(entry.service.name, entry.service.host, entry.service.port))) return;
      const md = loadManifest(entry);
      const impl = md.type.replace(/^state\./, '');
      if (entry.fake) {
        store = new MongoStateStore(async () => createFakeMongo({ replicaSet: true }));
      } else {
        const reg = registries.state.find(impl, md.version);
        if (!reg) throw new Error(`${md.type}/${md.version} is not registered`);
        store = reg.factory();
      }
      await store.init(md);
      ready = true;
    });

    afterAll(async () => {
      if (ready) await store.close();
    });

    check('init and ping', async () => {
      await store.ping?.();
    });

    check('declared features match claimed operations and implemented interfaces', async () => {
      const f = store.features();
      expect(isTransactional(store)).toBe(has('transaction'));
      expect(isQueryable(store)).toBe(has('query'));
      expect(f.includes(StateFeature.TRANSACTIONAL)).toBe(has('transaction'));
      expect(f.includes(StateFeature.QUERY_API)).toBe(has('query'));
      expect(f.includes(StateFeature.ETAG)).toBe(has('etag'));
      expect(f.includes(StateFeature.TTL)).toBe(has('ttl'));
    });

    describe('set and get', () => {
      const jsonValues: [string, unknown][] = [
        ['int', 123],
        ['bool', true],
        ['string with JSON', '{"a":"b"}'],
        ['string', 'hello world'],
        ['empty string', ''],
        ['struct', { message: 'test', product: { value: 5, tags: ['a', 'b'] }, nothing: null }],
      ];
      for (const [name, v] of jsonValues) {
        check(`${name} round-trips as JSON`, async () => {
          await set(`json-${name}`, json(v), { contentType: JSON_CT });
          const res = await get(`json-${name}`);
          expect(res).toBeDefined();
          expect(JSON.parse(res!.data.toString('utf8'))).toEqual(v);
          if (has('etag')) expect(res!.etag).toBeTruthy();
        });
      }

      check('bytes round-trip exactly (incl. non-UTF-8)', async () => {
        const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 10, 13]);
        await set('bytes', bytes);
        expect((await get('bytes'))!.data.equals(bytes)).toBe(true);
        const text = Buffer.from('plain text, not JSON {');
        await set('text-bytes', text);
        expect((await get('text-bytes'))!.data.equals(text)).toBe(true);
      });

      check('JSON-looking bytes without a JSON content type round-trip exactly', async () => {
        const raw = Buffer.from('{"b":1,   "a":2}');
        await set('raw-json-bytes', raw);
        expect((await get('raw-json-bytes'))!.data.equals(raw)).toBe(true);
      });

      check('get of a missing key is undefined', async () => {
        expect(await get('never-set')).toBeUndefined();
      });
    });

    describe('delete', () => {
      check('deletes a key', async () => {
        await set('del', json('x'), { contentType: JSON_CT });
        await store.delete({ key: key('del'), metadata: {} });
        expect(await get('del')).toBeUndefined();
      });
      check('deleting a missing key is not an error', async () => {
        await store.delete({ key: key('del-missing'), metadata: {} });
      });
    });

    describe('bulk', () => {
      check('bulkset, bulkget (with missing keys), bulkdelete', async () => {
        const keys = ['b1', 'b2', 'b3'].map(key);
        await bulkSet(keys.map((k, i) => ({ key: k, value: json({ n: i }), metadata: {}, contentType: JSON_CT })));
        const got = await bulkGet([...keys, key('b-missing')]);
        expect(got).toHaveLength(4);
        for (const [i, k] of keys.entries()) {
          const item = got.find((g) => g.key === k)!;
          expect(JSON.parse(item.data!.toString())).toEqual({ n: i });
          if (has('etag')) expect(item.etag).toBeTruthy();
        }
        const missing = got.find((g) => g.key === key('b-missing'))!;
        expect(missing.data === undefined || missing.data.length === 0).toBe(true);
        expect(missing.error).toBeFalsy();
        await bulkDelete(keys.map((k) => ({ key: k, metadata: {} })));
        for (const k of keys) expect(await store.get({ key: k, metadata: {} })).toBeUndefined();
      });
    });

    if (has('transaction')) {
      describe('transaction', () => {
        const multi = (operations: TransactionalOperation[]) => {
          if (!isTransactional(store)) throw new Error('not transactional');
          return store.multi({ operations, metadata: {} });
        };
        const up = (k: string, v: unknown, extra: Partial<SetRequest> = {}): TransactionalOperation => ({
          operation: 'upsert',
          request: { key: key(k), value: json(v), metadata: {}, contentType: JSON_CT, ...extra },
        });
        const del = (k: string, etag?: string): TransactionalOperation => ({ operation: 'delete', request: { key: key(k), metadata: {}, etag } });

        check('applies upserts and deletes', async () => {
          await set('tx-old', json('old'), { contentType: JSON_CT });
          await multi([up('tx-a', { a: 1 }), up('tx-b', 'b'), del('tx-old')]);
          expect(JSON.parse((await get('tx-a'))!.data.toString())).toEqual({ a: 1 });
          expect((await get('tx-b'))!.data.toString()).toBe('"b"');
          expect(await get('tx-old')).toBeUndefined();
        });

        check('applies operations in order', async () => {
          await set('ord-1', json('x'), { contentType: JSON_CT });
          await multi([del('ord-1'), up('ord-2', 'tmp'), del('ord-2'), up('ord-3', 'c')]);
          expect(await get('ord-1')).toBeUndefined();
          expect(await get('ord-2')).toBeUndefined();
          expect((await get('ord-3'))!.data.toString()).toBe('"c"');
        });

        if (has('etag')) {
          check('an ETag failure aborts the whole transaction', async () => {
            await set('txe', json('v1'), { contentType: JSON_CT });
            await expect(multi([up('txe-new', 'n'), up('txe', 'v2', { etag: entry.badEtag })])).rejects.toBeInstanceOf(ETagError);
            expect(await get('txe-new')).toBeUndefined();
            expect((await get('txe'))!.data.toString()).toBe('"v1"');
          });
        }
      });
    } else {
      check('component does not implement TransactionalStore', async () => {
        expect(isTransactional(store)).toBe(false);
      });
    }

    if (has('etag')) {
      describe('etag', () => {
        check('set with a wrong ETag fails; the right one succeeds and changes it', async () => {
          await set('e1', json('v1'), { contentType: JSON_CT });
          const e1 = (await get('e1'))!.etag!;
          expect(e1).toBeTruthy();
          await expect(set('e1', json('x'), { contentType: JSON_CT, etag: entry.badEtag })).rejects.toMatchObject({ reason: 'mismatch' });
          await set('e1', json('v2'), { contentType: JSON_CT, etag: e1 });
          const after = (await get('e1'))!;
          expect(after.data.toString()).toBe('"v2"');
          expect(after.etag).toBeTruthy();
          expect(after.etag).not.toBe(e1);
          await expect(set('e1', json('v3'), { contentType: JSON_CT, etag: e1 })).rejects.toBeInstanceOf(ETagError);
        });

        if (entry.invalidEtag) {
          check('a malformed ETag is invalid', async () => {
            await set('e-inv', json('v'), { contentType: JSON_CT });
            await expect(set('e-inv', json('x'), { contentType: JSON_CT, etag: entry.invalidEtag })).rejects.toMatchObject({ reason: 'invalid' });
          });
        }

        check('delete with a wrong ETag fails, with the right one succeeds', async () => {
          await set('e-del', json('v'), { contentType: JSON_CT });
          const e = (await get('e-del'))!.etag!;
          await expect(store.delete({ key: key('e-del'), etag: entry.badEtag, metadata: {} })).rejects.toMatchObject({ reason: 'mismatch' });
          expect(await get('e-del')).toBeDefined();
          await store.delete({ key: key('e-del'), etag: e, metadata: {} });
          expect(await get('e-del')).toBeUndefined();
        });

        check('bulk set with one bad ETag: the others succeed, the error names that key', async () => {
          await set('eb1', json('old'), { contentType: JSON_CT });
          await set('eb2', json('old'), { contentType: JSON_CT });
          const e2 = (await get('eb2'))!.etag!;
          const err = await bulkSet([
            { key: key('eb1'), value: json('new'), etag: entry.badEtag, metadata: {}, contentType: JSON_CT },
            { key: key('eb2'), value: json('new'), etag: e2, metadata: {}, contentType: JSON_CT },
            { key: key('eb3'), value: json('new'), metadata: {}, contentType: JSON_CT },
          ]).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(BulkStoreError);
          expect((err as BulkStoreError).errors.map((x) => x.key)).toEqual([key('eb1')]);
          expect((err as BulkStoreError).errors[0]!.error).toBeInstanceOf(ETagError);
          expect((await get('eb1'))!.data.toString()).toBe('"old"');
          expect((await get('eb2'))!.data.toString()).toBe('"new"');
          expect((await get('eb3'))!.data.toString()).toBe('"new"');
        });

        check('bulk delete with one bad ETag deletes the others', async () => {
          await set('ed1', json('v'), { contentType: JSON_CT });
          await set('ed2', json('v'), { contentType: JSON_CT });
          const err = await bulkDelete([
            { key: key('ed1'), etag: entry.badEtag, metadata: {} },
            { key: key('ed2'), metadata: {} },
          ]).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect((err as BulkStoreError).errors.map((x) => x.key)).toEqual([key('ed1')]);
          expect(await get('ed1')).toBeDefined();
          expect(await get('ed2')).toBeUndefined();
        });
      });
    }

    if (has('first-write')) {
      describe('first-write', () => {
        const fw = { concurrency: 'first-write' as const };
        check('without an ETag the second write to a key fails', async () => {
          await set('fw1', json('first'), { contentType: JSON_CT, options: fw });
          await expect(set('fw1', json('second'), { contentType: JSON_CT, options: fw })).rejects.toThrow();
          expect((await get('fw1'))!.data.toString()).toBe('"first"');
        });
        check('with an ETag a stale ETag fails', async () => {
          await set('fw2', json('first'), { contentType: JSON_CT, options: fw });
          const e = (await get('fw2'))!.etag!;
          await set('fw2', json('second'), { contentType: JSON_CT, options: fw, etag: e });
          await expect(set('fw2', json('third'), { contentType: JSON_CT, options: fw, etag: e })).rejects.toBeInstanceOf(ETagError);
          expect((await get('fw2'))!.data.toString()).toBe('"second"');
        });
      });
    }

    if (has('ttl')) {
      describe('ttl', () => {
        check('a bad ttlInSeconds is rejected by core', async () => {
          const components = new ComponentStore();
          const md = loadManifest(entry);
          components.add({ kind: 'state', name: 'statestore', meta: md, instance: store, capabilities: [...store.features()] });
          const core = createCore({ components, appId: run, namespace: '', runtimeVersion: 'test' }, { protocol: 'http', channelAddress: '127.0.0.1' });
          const err = await core.state.save('statestore', [{ key: 'ttl-bad', value: json('v'), metadata: { ttlInSeconds: 'foo' } }]).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(RuntimeError);
          expect((err as RuntimeError).code).toBe('ERR_STATE_SAVE');
          expect(await core.state.get('statestore', 'ttl-bad')).toBeUndefined();
        });

        check('no TTL means no ttlExpireTime', async () => {
          await set('ttl-none', json('v'), { contentType: JSON_CT });
          expect((await get('ttl-none'))!.metadata?.ttlExpireTime).toBeUndefined();
        });

        check('ttlExpireTime is RFC3339 about now+TTL on get and bulkget; -1 removes the TTL', async () => {
          const before = Date.now();
          await set('ttl-meta', json('v'), { contentType: JSON_CT, metadata: { ttlInSeconds: '1000' }, ttlInSeconds: 1000 });
          const exp = (await get('ttl-meta'))!.metadata?.ttlExpireTime;
          expect(exp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
          const t = Date.parse(exp!);
          expect(t).toBeGreaterThanOrEqual(before + 1000 * 1000 - 5000);
          expect(t).toBeLessThanOrEqual(Date.now() + 1000 * 1000 + 5000);
          const [bulk] = await bulkGet([key('ttl-meta')]);
          expect(bulk!.metadata?.ttlExpireTime).toBe(exp);
          await set('ttl-meta', json('v2'), { contentType: JSON_CT, metadata: { ttlInSeconds: '-1' }, ttlInSeconds: -1 });
          const after = (await get('ttl-meta'))!;
          expect(after.data.toString()).toBe('"v2"');
          expect(after.metadata?.ttlExpireTime).toBeUndefined();
        });

        check(
          'a key with a TTL disappears after it',
          async () => {
            await set('ttl-exp', json('v'), { contentType: JSON_CT, metadata: { ttlInSeconds: '1' }, ttlInSeconds: 1 });
            expect(await get('ttl-exp')).toBeDefined();
            // Eventual, not timed: poll until gone (bounded by the test timeout).
            while (await get('ttl-exp')) await sleep(250);
          },
          20000,
        );
      });
    }

    if (has('query')) {
      describe('query', () => {
        const people = [
          { id: 1, person: { org: 'Dev Ops', id: 1036 }, city: 'Seattle', state: 'WA' },
          { id: 2, person: { org: 'Hardware', id: 1028 }, city: 'Portland', state: 'OR' },
          { id: 3, person: { org: 'Finance', id: 1071 }, city: 'Sacramento', state: 'CA' },
          { id: 4, person: { org: 'Dev Ops', id: 1042 }, city: 'Spokane', state: 'WA' },
          { id: 5, person: { org: 'Hardware', id: 1007 }, city: 'Los Angeles', state: 'CA' },
        ];
        const q = (filter?: unknown, extra: Record<string, unknown> = {}) => {
          if (!isQueryable(store)) throw new Error('not queryable');
          const f = filter ? { AND: [{ EQ: { run } }, filter] } : { EQ: { run } };
          return store.query({ query: { filter: f as Record<string, unknown>, ...extra }, metadata: {} });
        };
        const ids = async (filter?: unknown, extra?: Record<string, unknown>) =>
          (await q(filter, extra)).results.map((r) => (JSON.parse(r.data.toString()) as { id: number }).id);

        beforeAll(async () => {
          if (!ready) return;
          for (const p of people) await set(`q-${p.id}`, json({ ...p, run }), { contentType: JSON_CT });
          await set('q-bin', Buffer.from([0xff, 0, 1]));
        });

        check('EQ, NEQ and IN on nested fields', async () => {
          expect((await ids({ EQ: { 'person.org': 'Dev Ops' } })).sort()).toEqual([1, 4]);
          expect((await ids({ NEQ: { state: 'CA' } })).sort()).toEqual([1, 2, 4]);
          expect((await ids({ IN: { state: ['CA', 'OR'] } })).sort()).toEqual([2, 3, 5]);
        });

        check('GT, GTE, LT, LTE', async () => {
          expect((await ids({ GT: { 'person.id': 1036 } })).sort()).toEqual([3, 4]);
          expect((await ids({ GTE: { 'person.id': 1036 } })).sort()).toEqual([1, 3, 4]);
          expect((await ids({ LT: { 'person.id': 1028 } })).sort()).toEqual([5]);
          expect((await ids({ LTE: { 'person.id': 1028 } })).sort()).toEqual([2, 5]);
        });

        check('nested AND / OR', async () => {
          const f = { OR: [{ AND: [{ EQ: { state: 'WA' } }, { GT: { 'person.id': 1040 } }] }, { EQ: { city: 'Portland' } }] };
          expect((await ids(f)).sort()).toEqual([2, 4]);
        });

        check('results carry key and ETag', async () => {
          const res = await q({ EQ: { id: 3 } });
          expect(res.results).toHaveLength(1);
          expect(res.results[0]!.key).toBe(key('q-3'));
          expect(res.results[0]!.etag).toBeTruthy();
        });

        check('sort and page through with limit/token', async () => {
          expect(await ids(undefined, { sort: [{ key: 'person.id', order: 'DESC' }] })).toEqual([3, 4, 1, 2, 5]);
          const seen: number[] = [];
          let token: string | undefined;
          for (let i = 0; i < 5; i++) {
            const page = await q(undefined, { sort: [{ key: 'state' }, { key: 'person.id' }], page: { limit: 2, token } });
            if (page.results.length === 0) break;
            seen.push(...page.results.map((r) => (JSON.parse(r.data.toString()) as { id: number }).id));
            token = page.token;
            expect(token).toBeTruthy();
          }
          expect(seen).toEqual([5, 3, 2, 1, 4]);
        });

        check('a malformed query is a bad request, not a store failure', async () => {
          if (!isQueryable(store)) throw new Error('not queryable');
          const err = await store.query({ query: { filter: { LIKE: { a: 1 } } }, metadata: {} }).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(RuntimeError);
          expect((err as RuntimeError).kind).toBe('STATE_QUERY_BAD_REQUEST');
        });
      });
    } else {
      check('query API feature not present', async () => {
        expect(isQueryable(store)).toBe(false);
      });
    }
  });
}
