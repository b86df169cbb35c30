// state.postgresql v1 storage is contrib's: checked in the real database with plain SQL.
import { Client } from 'pg';
import { PostgresStateStore } from '../../src/components/state/postgresql';
import type { ComponentMetadata } from '../../src/components/types';
import { requireService } from '../../test/services';

const URL = 'postgres://postgres@127.0.0.1:5432/test';
const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const table = `layout_state_${suffix}`;
const metaTable = `layout_meta_${suffix}`;
const md = (props: Record<string, string>): ComponentMetadata => ({ name: 'pg', type: 'state.postgresql', version: 'v1', properties: props, appId: 'a', namespace: '' });

describe('state.postgresql storage layout', () => {
  let ready = false;
  let a: PostgresStateStore;
  let b: PostgresStateStore;
  let sql: Client;

  beforeAll(async () => {
    if (!(await requireService('postgresql', '127.0.0.1', 5432))) return;
    sql = new Client({ connectionString: URL });
    await sql.connect();
    a = new PostgresStateStore();
    b = new PostgresStateStore();
    const props = { connectionString: 'host=127.0.0.1 port=5432 user=postgres dbname=test', tableName: table, metadataTableName: metaTable, cleanupInterval: '1s' };
    // Two sidecars creating the same fresh table at once must both succeed.
    await Promise.all([a.init(md(props)), b.init(md(props))]);
    ready = true;
  });

  afterAll(async () => {
    if (!ready) return;
    await a.close();
    await b.close();
    await sql.query(`DROP TABLE IF EXISTS ${table}; DROP TABLE IF EXISTS ${metaTable}`);
    await sql.end();
  });

  it("creates contrib's v1 columns and records the migration level", async () => {
    if (!ready) return;
    const cols = await sql.query(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, [table]);
    expect(cols.rows.map((r) => `${r.column_name}:${r.data_type}`)).toEqual([
      'key:text',
      'value:jsonb',
      'isbinary:boolean',
      'insertdate:timestamp with time zone',
      'updatedate:timestamp with time zone',
      'expiredate:timestamp with time zone',
    ]);
    const level = await sql.query(`SELECT value FROM ${metaTable} WHERE key = 'migrations'`);
    expect(level.rows[0].value).toBe('2');
  });

  it('a second table sharing the metadata table, or one dropped by hand, is created on init', async () => {
    if (!ready) return;
    const other = `${table}_second`;
    const props = { connectionString: 'host=127.0.0.1 port=5432 user=postgres dbname=test', tableName: other, metadataTableName: metaTable };
    for (const round of ['fresh', 'after drop']) {
      const s = new PostgresStateStore();
      await s.init(md(props));
      await s.set({ key: `app||${round}`, value: Buffer.from('1'), metadata: {}, contentType: 'application/json' });
      expect((await s.get({ key: `app||${round}`, metadata: {} }))?.data).toEqual(Buffer.from('1'));
      await s.close();
      await sql.query(`DROP TABLE ${other}`);
    }
  });

  it('stores JSON as jsonb and bytes as base64 with isbinary; the ETag is xmin', async () => {
    if (!ready) return;
    await a.set({ key: 'app||json', value: Buffer.from('{"person":{"org":"x"}}'), metadata: {}, contentType: 'application/json' });
    await a.set({ key: 'app||bin', value: Buffer.from([0xff, 0x00, 0x01]), metadata: {} });
    const rows = await sql.query(`SELECT key, value, isbinary, xmin::text AS xmin FROM ${table} ORDER BY key`);
    expect(rows.rows.map((r) => [r.key, r.value, r.isbinary])).toEqual([
      ['app||bin', Buffer.from([0xff, 0x00, 0x01]).toString('base64'), true],
      ['app||json', { person: { org: 'x' } }, false],
    ]);
    expect((await a.get({ key: 'app||json', metadata: {} }))?.etag).toBe(rows.rows[1].xmin);
    expect((await b.get({ key: 'app||bin', metadata: {} }))?.data).toEqual(Buffer.from([0xff, 0x00, 0x01]));
  });

  it('the cleanup deletes expired rows', async () => {
    if (!ready) return;
    await a.set({ key: 'app||ttl', value: Buffer.from('1'), metadata: {}, contentType: 'application/json', ttlInSeconds: 1 });
    while (await a.get({ key: 'app||ttl', metadata: {} })) await new Promise((r) => setTimeout(r, 200));
    // The timer may already have cleaned it; a direct run must leave no expired row either way.
    await new Promise((r) => setTimeout(r, 1100));
    await a.cleanupExpired();
    const left = await sql.query(`SELECT count(*)::int AS n FROM ${table} WHERE key = 'app||ttl'`);
    expect(left.rows[0].n).toBe(0);
  });

  it('init fails with a clear error when the database is unreachable', async () => {
    const s = new PostgresStateStore();
    await expect(s.init(md({ connectionString: 'postgres://postgres@127.0.0.1:1/test', timeout: '2s' }))).rejects.toThrow(/failed to ping the database: .*ECONNREFUSED/);
  });

  it('rejects table names that are not plain identifiers', async () => {
    const s = new PostgresStateStore();
    await expect(s.init(md({ connectionString: URL, tableName: 'state; DROP TABLE x' }))).rejects.toThrow('tableName');
    await expect(s.init(md({}))).rejects.toThrow('connectionString');
  });
});
