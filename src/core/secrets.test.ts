import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFileSecretStore } from '../components/secretstores/local/file';
import { ComponentStore } from '../components/store';
import type { ComponentMetadata } from '../components/types';
import { RuntimeError } from '../errors/runtime-error';
import { createCore } from '.';
import type { SecretScope } from './secrets';

const APP = { protocol: 'http', channelAddress: '127.0.0.1' };

async function coreWith(scopes: SecretScope[] = [], withStore = true) {
  const components = new ComponentStore();
  if (withStore) {
    const f = join(mkdtempSync(join(tmpdir(), 'core-secrets-')), 's.json');
    writeFileSync(f, JSON.stringify({ a: '1', b: '2', c: '3' }));
    const meta: ComponentMetadata = { name: 'vault', type: 'secretstores.local.file', version: 'v1', properties: { secretsFile: f }, appId: 'x', namespace: '' };
    const instance = new LocalFileSecretStore();
    await instance.init(meta);
    components.add({ kind: 'secretstores', name: 'vault', meta, instance, capabilities: [] });
  }
  return createCore({ components, appId: 'x', namespace: '', runtimeVersion: 't' }, APP, { secretScopes: scopes }).secrets;
}

async function failure(p: Promise<unknown>): Promise<RuntimeError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(RuntimeError);
  return e as RuntimeError;
}

describe('SecretsCore', () => {
  it('gets one secret and all of them', async () => {
    const s = await coreWith();
    expect(await s.get('vault', 'a')).toEqual({ a: '1' });
    expect(await s.bulkGet('vault')).toEqual({ a: { a: '1' }, b: { b: '2' }, c: { c: '3' } });
  });

  it('maps errors as daprd: none configured 500, unknown store 401, missing secret 500 ERR_SECRET_GET', async () => {
    const none = await failure((await coreWith([], false)).get('vault', 'a'));
    expect([none.code, none.row.http, none.message]).toEqual(['ERR_SECRET_STORES_NOT_CONFIGURED', 500, 'secret store is not configured']);
    const s = await coreWith();
    const unknown = await failure(s.bulkGet('nope'));
    expect([unknown.code, unknown.row.http, unknown.message]).toEqual(['ERR_SECRET_STORE_NOT_FOUND', 401, 'failed finding secret store with key nope']);
    const missing = await failure(s.get('vault', 'zz'));
    expect([missing.code, missing.row.http, missing.message]).toEqual(['ERR_SECRET_GET', 500, 'failed getting secret with key zz from secret store vault: secret zz not found']);
  });

  it('deniedSecrets: get is 403, bulk leaves them out', async () => {
    const s = await coreWith([{ storeName: 'vault', deniedSecrets: ['b'] }]);
    const denied = await failure(s.get('vault', 'b'));
    expect([denied.code, denied.row.http, denied.message]).toEqual(['ERR_PERMISSION_DENIED', 403, 'access denied by policy to get "b" from "vault"']);
    expect(Object.keys(await s.bulkGet('vault'))).toEqual(['a', 'c']);
  });

  it('allowedSecrets wins over everything; defaultAccess deny closes the rest', async () => {
    const allow = await coreWith([{ storeName: 'vault', defaultAccess: 'deny', allowedSecrets: ['a'], deniedSecrets: ['a'] }]);
    expect(await allow.get('vault', 'a')).toEqual({ a: '1' });
    expect(Object.keys(await allow.bulkGet('vault'))).toEqual(['a']);
    const deny = await coreWith([{ storeName: 'vault', defaultAccess: 'DENY' }]);
    expect((await failure(deny.get('vault', 'a'))).code).toBe('ERR_PERMISSION_DENIED');
    expect(await deny.bulkGet('vault')).toEqual({});
    // A scope for another store changes nothing here.
    expect(await (await coreWith([{ storeName: 'other', defaultAccess: 'deny' }])).get('vault', 'a')).toEqual({ a: '1' });
  });
});
