// nameresolution.sqlite on real files: sidecars sharing one file find each other, spread calls
// over instances, and a stopped, stale or killed sidecar stops being found.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { registryPath, SqliteResolver, defaultRegistryPath } from '.';
import type { ResolverInstance } from '../types';

let dir: string;
const open: SqliteResolver[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'layotto-ts-nr-'));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
  rmSync(dir, { recursive: true, force: true });
});

const file = () => join(dir, 'nr.db');
async function resolver(instance: Partial<ResolverInstance> = {}, config: Record<string, unknown> = {}): Promise<SqliteResolver> {
  const r = new SqliteResolver();
  await r.init({ instance: { appId: '', namespace: '', address: '', listenAddress: '0.0.0.0', daprInternalPort: 0, ...instance }, configuration: { connectionString: file(), ...config } });
  open.push(r);
  return r;
}
const req = (id: string, namespace = '') => ({ id, namespace, port: 50002 });
const rows = () => {
  const db = new Database(file());
  try {
    return db.prepare('SELECT * FROM hosts ORDER BY address').all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
};

describe('nameresolution.sqlite', () => {
  it('registers at init (loopback for a server on every interface) and finds the others', async () => {
    await resolver({ appId: 'app1', daprInternalPort: 41001 });
    const caller = await resolver({ appId: 'app2', daprInternalPort: 41002 });
    expect(await caller.resolve(req('app1'))).toEqual({ host: '127.0.0.1', port: 41001 });
    expect(rows().map((r) => [r.address, r.app_id, r.pid])).toEqual([
      ['127.0.0.1:41001', 'app1', process.pid],
      ['127.0.0.1:41002', 'app2', process.pid],
    ]);
  });

  it('registers the listen address when the server is bound to one', async () => {
    const r = await resolver({ appId: 'app1', listenAddress: '::1', daprInternalPort: 41001 });
    expect(rows()[0]!.address).toBe('[::1]:41001');
    expect(await r.resolve(req('app1'))).toEqual({ host: '::1', port: 41001 });
  });

  it('round-robins over the instances of one app id', async () => {
    await resolver({ appId: 'app2', daprInternalPort: 41001 });
    await resolver({ appId: 'app2', daprInternalPort: 41002 });
    const caller = await resolver({ appId: 'app1', daprInternalPort: 41003 });
    const ports = [];
    for (let i = 0; i < 4; i++) ports.push((await caller.resolve(req('app2'))).port);
    expect(ports.sort()).toEqual([41001, 41001, 41002, 41002]);
  });

  it('keeps namespaces apart', async () => {
    await resolver({ appId: 'app2', namespace: 'prod', daprInternalPort: 41001 });
    const caller = await resolver({ appId: 'app1', namespace: 'dev', daprInternalPort: 41002 });
    expect(await caller.resolve(req('app2', 'prod'))).toEqual({ host: '127.0.0.1', port: 41001 });
    await expect(caller.resolve(req('app2', 'dev'))).rejects.toThrow('no host found with the given ID');
  });

  it('removes its row at close; an unknown app id is "no host found with the given ID"', async () => {
    const target = await resolver({ appId: 'app2', daprInternalPort: 41001 });
    const caller = await resolver({ appId: 'app1', daprInternalPort: 41002 });
    await target.close();
    await expect(caller.resolve(req('app2'))).rejects.toThrow('no host found with the given ID');
    expect(rows().map((r) => r.app_id)).toEqual(['app1']);
  });

  it('skips rows not refreshed within updateInterval, and refreshes its own', async () => {
    await resolver({ appId: 'app2', daprInternalPort: 41001 }, { updateInterval: '2s', timeout: '500ms' });
    const caller = await resolver({ appId: 'app1', daprInternalPort: 41002 }, { updateInterval: '2s', timeout: '500ms' });
    const db = new Database(file());
    db.prepare("UPDATE hosts SET last_update = unixepoch(CURRENT_TIMESTAMP) - 10 WHERE app_id = 'app1'").run();
    db.prepare("UPDATE hosts SET last_update = unixepoch(CURRENT_TIMESTAMP) - 10, pid = NULL WHERE app_id = 'app2'").run();
    db.close();
    await expect(caller.resolve(req('app2'))).rejects.toThrow('no host found');
    // app1 is alive and renews every second (half the interval).
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !(await caller.resolve(req('app1')).catch(() => undefined))) await new Promise((r) => setTimeout(r, 100));
    expect(await caller.resolve(req('app1'))).toEqual({ host: '127.0.0.1', port: 41002 });
  });

  it('drops at once a row whose process is gone (SIGKILL leaves no goodbye)', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    const pid = child.pid!;
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const caller = await resolver({ appId: 'app1', daprInternalPort: 41002 });
    const db = new Database(file());
    db.prepare("INSERT INTO hosts (registration_id, address, app_id, namespace, last_update, pid) VALUES ('dead', '127.0.0.1:41009', 'app2', '', unixepoch(CURRENT_TIMESTAMP), ?)").run(pid);
    db.close();
    await expect(caller.resolve(req('app2'))).rejects.toThrow('no host found');
    expect(rows().map((r) => r.registration_id)).not.toContain('dead');
  });

  it("reads a file daprd's resolver made (no pid column): adds the column, finds daprd's rows", async () => {
    const db = new Database(file());
    db.exec(`CREATE TABLE metadata (key text NOT NULL PRIMARY KEY, value text NOT NULL);
      INSERT INTO metadata VALUES ('nr-migrations', '1');
      CREATE TABLE hosts (registration_id TEXT NOT NULL PRIMARY KEY, address TEXT NOT NULL, app_id TEXT NOT NULL, namespace TEXT NOT NULL, last_update INTEGER NOT NULL);
      CREATE UNIQUE INDEX hosts_address_idx ON hosts (address);
      INSERT INTO hosts VALUES ('daprd-1', '10.1.2.3:50002', 'daprd-app', '', unixepoch(CURRENT_TIMESTAMP));`);
    db.close();
    const caller = await resolver({ appId: 'app1', daprInternalPort: 41002 });
    expect(await caller.resolve(req('daprd-app'))).toEqual({ host: '10.1.2.3', port: 50002 });
    const check = new Database(file());
    expect(check.prepare("SELECT value FROM metadata WHERE key = 'nr-migrations'").get()).toEqual({ value: '1' });
    check.close();
  });

  it('a resolver without an app id only resolves (registers nothing)', async () => {
    await resolver({ appId: 'app2', daprInternalPort: 41001 });
    const anon = await resolver({});
    expect(await anon.resolve(req('app2'))).toEqual({ host: '127.0.0.1', port: 41001 });
    expect(rows()).toHaveLength(1);
  });

  it('rejects a bad configuration', async () => {
    await expect(resolver({}, { tableName: 'hosts; DROP TABLE x' })).rejects.toThrow('invalid identifier for table name');
    await expect(resolver({}, { updateInterval: '2500ms' })).rejects.toThrow('must not contain fractions of seconds');
    await expect(resolver({}, { updateInterval: '1s' })).rejects.toThrow('at least 1s greater than timeout');
    await expect(resolver({}, { updateInterval: 'soon' })).rejects.toThrow('updateInterval');
    await expect(new SqliteResolver().init({ instance: { appId: '', namespace: '', address: '', daprInternalPort: 0 }, configuration: ['x'] })).rejects.toThrow('configuration must be a map');
  });

  it('takes the path from connectionString as contrib spells it, ~/.dapr/nr.db by default', () => {
    expect(registryPath('/a/nr.db')).toBe('/a/nr.db');
    expect(registryPath('file:/a/nr.db?_pragma=busy_timeout(500)')).toBe('/a/nr.db');
    expect(registryPath(':memory:')).toBe(':memory:');
    expect(registryPath(undefined)).toBe(defaultRegistryPath());
    expect(defaultRegistryPath()).toMatch(/\.dapr[/\\]nr\.db$/);
  });
});
