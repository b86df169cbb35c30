// Configuration conformance (after components-contrib tests/conformance/configuration, dapr.md §8.3):
// init, insert initial keys, get (listed / all / missing keys), three subscribers (two key lists,
// one on all keys), updates and deletes delivered, unsubscribe stopping delivery per subscriber.
// Items are written the way each backend is written to in practice: Redis with a plain
// `SET key "value||version"` from another client (daprd's format), in-memory through save().
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { registries } from '../../src/components/builtin';
import type { ConfigurationItem, ConfigurationStore } from '../../src/components/configuration/types';
import type { ComponentMetadata } from '../../src/components/types';
import { requireService } from '../../test/services';

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

/** Resolves once `cond` holds; the suite timeout bounds the wait (no timing assertions). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
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
      await until(() => got.s1!.length >= 2 && got.s2!.length >= 1 && got.s3!.length >= 3);
      expect(got.s1).toEqual([[k('k1'), 'v1b'], [k('k2'), gone]]);
      expect(got.s2).toEqual([[k('k3'), 'v3']]);
      expect(got.s3).toEqual([[k('k1'), 'v1b'], [k('k3'), 'v3'], [k('k2'), gone]]);

      await store.unsubscribe(s1);
      await writer.set(k('k1'), 'v1c', '3');
      await writer.set(k('k3'), 'v3b', '2');
      await until(() => got.s3!.length >= 5 && got.s2!.length >= 2);
      expect(got.s1).toHaveLength(2);

      await store.unsubscribe(s2);
      await store.unsubscribe(s3);
      await expect(store.unsubscribe(s3)).rejects.toThrow(`subscription with id ${s3} does not exist`);
    });
  });
}
