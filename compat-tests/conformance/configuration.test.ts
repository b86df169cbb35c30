// Configuration conformance (after components-contrib tests/conformance/configuration, dapr.md §8.3):
// init, insert initial keys, get (listed / all / missing keys), three subscribers (two key lists,
// one on all keys), updates and deletes delivered, unsubscribe stopping delivery per subscriber.
// Items are written the way each backend is written to in practice: Redis with a plain
// `SET key "value||version"` from another client (daprd's format), etcd with a plain put of
// Layotto's `/{app_id}/{group}/{label}/{key}`, in-memory through save(). etcd also gets Layotto's
// group/label/tags layout checked, and a server stopped mid-subscription must end it with an error.
import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { registries } from '../../src/components/builtin';
import type { ConfigurationItem, ConfigurationStore } from '../../src/components/configuration/types';
import type { ComponentMetadata } from '../../src/components/types';
import { requireService } from '../../test/services';
import { eventually } from '../../test/wait';
import { startPrivateEtcd } from '../helpers/etcd';

interface Backend {
  type: string;
  properties: Record<string, string>;
  reachable: () => Promise<boolean>;
  writer: (store: ConfigurationStore, run: string) => Promise<Writer>;
  /** Request metadata a subscription needs (postgres: the NOTIFY channel). */
  subscribeMetadata?: Record<string, string>;
  /** contrib's postgres delivers a deleted row as its old value (the trigger's OLD row). */
  deleteKeepsValue?: boolean;
}
interface Writer {
  set(key: string, value: string, version: string): Promise<void>;
  del(key: string): Promise<void>;
  close(): Promise<void>;
}

const PG = 'postgres://postgres@127.0.0.1:5432/test';
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;

const BACKENDS: Backend[] = [
  {
    type: 'configuration.in-memory',
    properties: {},
    reachable: async () => true,
    writer: async (store) => ({
      set: (key, value) => store.save!({ items: [{ key, value, group: 'default', label: 'default', tags: {}, metadata: {} }], metadata: {} }),
      del: (key) => store.delete!({ keys: [key], group: 'default', label: 'default', metadata: {} }),
      close: async () => undefined,
    }),
  },
  {
    type: 'configuration.redis',
    properties: { redisHost: 'localhost:6379' },
    reachable: () => requireService('redis', '127.0.0.1', 6379),
    writer: async () => {
      const r = new Redis({ host: '127.0.0.1', port: 6379 });
      return {
        set: async (key, value, version) => void (await r.set(key, `${value}||${version}`)),
        del: async (key) => void (await r.del(key)),
        close: async () => void (await r.quit()),
      };
    },
  },
  {
    type: 'configuration.postgresql',
    properties: { connectionString: PG, table: `conf_${RUN}` },
    reachable: () => requireService('postgres', '127.0.0.1', 5432),
    subscribeMetadata: { pgNotifyChannel: `conf_${RUN}_ch` },
    deleteKeepsValue: true,
    writer: async () => {
      const c = new Client({ connectionString: PG });
      await c.connect();
      const t = `conf_${RUN}`;
      return {
        set: async (key, value, version) =>
          void (await c.query(`INSERT INTO ${t} (key, value, version, metadata) VALUES ($1, $2, $3, '{}') ON CONFLICT (key) DO UPDATE SET value = $2, version = $3`, [key, value, version])),
        del: async (key) => void (await c.query(`DELETE FROM ${t} WHERE key = $1`, [key])),
        close: async () => {
          await c.query(`DROP TABLE IF EXISTS ${t}; DROP FUNCTION IF EXISTS ${t}_notify() CASCADE`);
          await c.end();
        },
      };
    },
  },
  {
    type: 'configuration.etcd',
    properties: { endpoints: '127.0.0.1:2379' },
    reachable: () => requireService('etcd', '127.0.0.1', 2379),
    writer: async () => {
      const etcd = new Etcd3({ hosts: 'http://127.0.0.1:2379' });
      const path = (key: string) => `/conformance/default/default/${key}`;
      return {
        set: async (key, value) => void (await etcd.put(path(key)).value(value)),
        del: async (key) => void (await etcd.delete().key(path(key))),
        close: async () => etcd.close(),
      };
    },
  },
];

/** The table and trigger a daprd user creates for configuration.postgresql (dapr docs). */
async function createPgTable(): Promise<void> {
  const c = new Client({ connectionString: PG });
  await c.connect();
  const t = `conf_${RUN}`;
  await c.query(`CREATE TABLE ${t} (key text PRIMARY KEY, value text NOT NULL, version text NOT NULL, metadata json)`);
  await c.query(`CREATE FUNCTION ${t}_notify() RETURNS trigger AS $$
    DECLARE data json;
    BEGIN
      IF (TG_OP = 'DELETE') THEN data = row_to_json(OLD); ELSE data = row_to_json(NEW); END IF;
      PERFORM pg_notify('${t}_ch', json_build_object('table', TG_TABLE_NAME, 'action', TG_OP, 'data', data)::text);
      RETURN NULL;
    END; $$ LANGUAGE plpgsql`);
  await c.query(`CREATE TRIGGER ${t}_trg AFTER INSERT OR UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE PROCEDURE ${t}_notify()`);
  await c.end();
}

for (const backend of BACKENDS) {
  describe(backend.type, () => {
    // Keys in contrib postgres's allowed characters ([a-zA-Z0-9_.]).
    const run = `confconf_${RUN}`;
    const k = (n: string) => `${run}_${n}`;
    let store: ConfigurationStore;
    let writer: Writer;
    let ready = false;
    const check = (name: string, fn: () => Promise<void>) =>
      it(name, async () => {
        if (ready) await fn();
      }, 20000);

    beforeAll(async () => {
      if (!(await backend.reachable())) return;
      if (backend.type === 'configuration.postgresql') await createPgTable();
      store = registries.configuration.create(backend.type.slice('configuration.'.length), 'v1')!;
      const meta: ComponentMetadata = { name: 'conf', type: backend.type, version: 'v1', properties: backend.properties, appId: 'conformance', namespace: '' };
      await store.init(meta);
      writer = await backend.writer(store, run);
      ready = true;
    });

    afterAll(async () => {
      if (!ready) return;
      for (const n of ['k1', 'k2', 'k3']) await writer.del(k(n)).catch(() => undefined);
      await writer.close();
      await store.close();
    });

    const byKey = (items: ConfigurationItem[]) => Object.fromEntries(items.map((i) => [i.key, [i.value, i.version]]));

    check('insert initial keys, then get listed, all and missing keys', async () => {
      await writer.set(k('k1'), 'v1', '1');
      await writer.set(k('k2'), 'v2', '1');
      const listed = await store.get({ keys: [k('k1'), k('k2')], metadata: {} });
      expect(Object.keys(byKey(listed)).sort()).toEqual([k('k1'), k('k2')]);
      expect(byKey(listed)[k('k1')]![0]).toBe('v1');
      const all = byKey(await store.get({ keys: [], metadata: {} }));
      expect(all[k('k1')]?.[0]).toBe('v1');
      expect(all[k('k2')]?.[0]).toBe('v2');
      expect(await store.get({ keys: [k('missing')], metadata: {} })).toEqual([]);
    });

    if (backend.type === 'configuration.redis') {
      check('redis: reads daprd\'s "value||version" strings as value and version', async () => {
        await writer.set(k('k1'), 'v1', '7');
        expect(await store.get({ keys: [k('k1')], metadata: {} })).toEqual([{ key: k('k1'), value: 'v1', version: '7', metadata: {} }]);
      });
    }

    check('three subscribers get updates and deletes for their keys; unsubscribing stops each one', async () => {
      const got: Record<string, [string, string][]> = { s1: [], s2: [], s3: [] };
      const handler = (name: string) => (u: { items: ConfigurationItem[] }) => {
        // The all-keys subscriber of a shared Redis also sees other suites' keys: keep this run's.
        for (const i of u.items) if (i.key.startsWith(run)) got[name]!.push([i.key, i.value]);
      };
      const metadata = backend.subscribeMetadata ?? {};
      const s1 = await store.subscribe({ keys: [k('k1'), k('k2')], metadata }, handler('s1'));
      const s2 = await store.subscribe({ keys: [k('k3')], metadata }, handler('s2'));
      const s3 = await store.subscribe({ keys: [], metadata }, handler('s3'));
      const gone = backend.deleteKeepsValue ? 'v2' : '';
      expect(new Set([s1, s2, s3]).size).toBe(3);

      await writer.set(k('k1'), 'v1b', '2');
      await writer.set(k('k3'), 'v3', '1');
      await writer.del(k('k2'));
      await eventually(() => got.s1!.length >= 2 && got.s2!.length >= 1 && got.s3!.length >= 3);
      expect(got.s1).toEqual([[k('k1'), 'v1b'], [k('k2'), gone]]);
      expect(got.s2).toEqual([[k('k3'), 'v3']]);
      expect(got.s3).toEqual([[k('k1'), 'v1b'], [k('k3'), 'v3'], [k('k2'), gone]]);

      await store.unsubscribe(s1);
      await writer.set(k('k1'), 'v1c', '3');
      await writer.set(k('k3'), 'v3b', '2');
      await eventually(() => got.s3!.length >= 5 && got.s2!.length >= 2);
      expect(got.s1).toHaveLength(2);

      await store.unsubscribe(s2);
      await store.unsubscribe(s3);
      await expect(store.unsubscribe(s3)).rejects.toThrow(`subscription with id ${s3} does not exist`);
    });

    if (backend.type === 'configuration.etcd') {
      const g = `g_${RUN}`;
      const path = (group: string, label: string, key: string) => `/conformance/${group}/${label}/${key}`;
      const write = (key: string, value: string, tags: Record<string, string>) => ({ key, value, group: g, label: 'l1', tags, metadata: {} });

      check("etcd: Layotto's layout: content and each tag as keys; save replaces the tag set; delete removes all", async () => {
        const etcd = new Etcd3({ hosts: 'http://127.0.0.1:2379' });
        try {
          await store.save!({ items: [write(k('t'), 'content', { env: 'prod', owner: 'team-a' })], metadata: {} });
          const kvs = await etcd.getAll().prefix(path(g, 'l1', k('t'))).strings();
          expect(kvs).toEqual({ [path(g, 'l1', k('t'))]: 'content', [`${path(g, 'l1', k('t'))}/env`]: 'prod', [`${path(g, 'l1', k('t'))}/owner`]: 'team-a' });
          const [item] = await store.get({ keys: [k('t')], metadata: {}, group: g, label: 'l1' });
          expect(item).toMatchObject({ key: k('t'), value: 'content', group: g, label: 'l1', tags: { env: 'prod', owner: 'team-a' } });
          expect(await store.get({ keys: [k('t')], metadata: {} })).toEqual([]); // another namespace
          // An item written by Layotto (or etcdctl) reads back the same way.
          await etcd.put(path(g, 'l1', k('lay'))).value('from-layotto');
          await etcd.put(`${path(g, 'l1', k('lay'))}/zone`).value('z1');
          const all = await store.get({ keys: [], metadata: {}, group: g, label: 'l1' });
          expect(all.map((i) => [i.key, i.value, i.tags])).toEqual([
            [k('lay'), 'from-layotto', { zone: 'z1' }],
            [k('t'), 'content', { env: 'prod', owner: 'team-a' }],
          ]);

          await store.save!({ items: [write(k('t'), 'content2', { env: 'dev' })], metadata: {} });
          expect(await etcd.getAll().prefix(path(g, 'l1', k('t'))).keys()).toEqual([path(g, 'l1', k('t')), `${path(g, 'l1', k('t'))}/env`]);
          await store.delete!({ keys: [k('t'), k('lay')], group: g, label: 'l1', metadata: {} });
          expect(await etcd.getAll().prefix(`/conformance/${g}/`).keys()).toEqual([]);
          await expect(store.save!({ items: [write('a/b', 'x', {})], metadata: {} })).rejects.toThrow("configuration key 'a/b' must be non-empty and can't contain '/'");
          await expect(store.get({ keys: ['x'], metadata: {}, group: 'a/b' })).rejects.toThrow("configuration group 'a/b'");
        } finally {
          etcd.close();
        }
      });

      check('etcd: a subscription on a group/label gets each saved item whole (content and tags), deletes as empty', async () => {
        const got: ConfigurationItem[] = [];
        const id = await store.subscribe({ keys: [k('w')], metadata: {}, group: g, label: 'l2' }, (u) => void got.push(...u.items));
        await store.save!({ items: [{ ...write(k('w'), 'one', { a: '1' }), label: 'l2' }, { ...write(k('other'), 'x', {}), label: 'l2' }], metadata: {} });
        await store.save!({ items: [{ ...write(k('w'), 'one', { a: '2' }), label: 'l2' }], metadata: {} });
        await store.delete!({ keys: [k('w'), k('other')], group: g, label: 'l2', metadata: {} });
        await eventually(() => got.length >= 3);
        expect(got.map((i) => [i.key, i.value, i.tags, i.group, i.label])).toEqual([
          [k('w'), 'one', { a: '1' }, g, 'l2'],
          [k('w'), 'one', { a: '2' }, g, 'l2'],
          [k('w'), '', {}, g, 'l2'],
        ]);
        expect(Number(got[1]!.version)).toBeGreaterThan(Number(got[0]!.version));
        await store.unsubscribe(id);
      });
    }
  });
}

describe('configuration.etcd: the server goes away mid-subscription', () => {
  it('every subscription ends with an error naming the lost connection', async () => {
    const etcd = await startPrivateEtcd();
    if (!etcd) return;
    const store = registries.configuration.create('etcd', 'v1')!;
    try {
      await store.init({ name: 'conf', type: 'configuration.etcd', version: 'v1', properties: { endpoints: etcd.endpoint, dialTimeout: '5' }, appId: 'gone', namespace: '' });
      const errors: string[] = [];
      await store.subscribe({ keys: ['a'], metadata: {} }, () => undefined, (e) => errors.push(e.message));
      await store.subscribe({ keys: [], metadata: {} }, () => undefined, (e) => errors.push(e.message));
      await etcd.kill();
      await eventually(() => errors.length >= 2);
      expect(errors).toHaveLength(2);
      expect(errors[0]).toMatch(/^lost the connection to etcd for configuration updates: /);
      // A new subscription cannot start while the server is down: refused, not left hanging.
      await expect(store.subscribe({ keys: ['a'], metadata: {} }, () => undefined)).rejects.toThrow(/etcd did not start a watch within \d+ ms|UNAVAILABLE/);
    } finally {
      await store.close();
      await etcd.kill();
    }
  }, 30000);
});
