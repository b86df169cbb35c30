import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ComponentMetadata } from '../../types';
import { ComponentConfigError } from '../../types';
import { SecretNotFoundError, SecretStoreFeature } from '../types';
import { LocalEnvSecretStore } from './env';
import { LocalFileSecretStore } from './file';

const meta = (type: string, properties: Record<string, string>): ComponentMetadata => ({ name: 's', type, version: 'v1', properties, appId: 'a', namespace: '' });

function secretsFile(doc: unknown): string {
  const f = join(mkdtempSync(join(tmpdir(), 'secrets-')), 'secrets.json');
  writeFileSync(f, JSON.stringify(doc));
  return f;
}

const DOC = { redisPassword: 'pw', connectionStrings: { sql: 'sql-cs', mysql: { primary: 'm1' } }, hosts: ['h0', 'h1'], port: 6379, tls: true, none: null };

describe('secretstores.local.file', () => {
  it('flattens nested objects and arrays with ":" and answers {name: value}', async () => {
    const s = new LocalFileSecretStore();
    await s.init(meta('secretstores.local.file', { secretsFile: secretsFile(DOC) }));
    expect(s.features()).toEqual([]);
    expect(await s.getSecret({ name: 'redisPassword', metadata: {} })).toEqual({ redisPassword: 'pw' });
    expect(await s.getSecret({ name: 'connectionStrings:mysql:primary', metadata: {} })).toEqual({ 'connectionStrings:mysql:primary': 'm1' });
    expect(await s.getSecret({ name: 'hosts:1', metadata: {} })).toEqual({ 'hosts:1': 'h1' });
    expect(await s.getSecret({ name: 'port', metadata: {} })).toEqual({ port: '6379' });
    expect(await s.bulkGetSecret()).toEqual({
      redisPassword: { redisPassword: 'pw' },
      'connectionStrings:sql': { 'connectionStrings:sql': 'sql-cs' },
      'connectionStrings:mysql:primary': { 'connectionStrings:mysql:primary': 'm1' },
      'hosts:0': { 'hosts:0': 'h0' },
      'hosts:1': { 'hosts:1': 'h1' },
      port: { port: '6379' },
      tls: { tls: 'true' },
      none: { none: '' },
    });
  });

  it('uses nestedSeparator', async () => {
    const s = new LocalFileSecretStore();
    await s.init(meta('secretstores.local.file', { secretsFile: secretsFile(DOC), nestedSeparator: '.' }));
    expect(await s.getSecret({ name: 'connectionStrings.sql', metadata: {} })).toEqual({ 'connectionStrings.sql': 'sql-cs' });
  });

  it('multiValued: a top-level object is one secret with several keys (nested ones flattened)', async () => {
    const s = new LocalFileSecretStore();
    await s.init(meta('secretstores.local.file', { secretsFile: secretsFile(DOC), multiValued: 'true' }));
    expect(s.features()).toEqual([SecretStoreFeature.MULTIPLE_KEY_VALUES_PER_SECRET]);
    expect(await s.getSecret({ name: 'connectionStrings', metadata: {} })).toEqual({ sql: 'sql-cs', 'mysql:primary': 'm1' });
    expect(await s.getSecret({ name: 'redisPassword', metadata: {} })).toEqual({ redisPassword: 'pw' });
    // As contrib: top-level arrays and non-string scalars are not secrets of a multi-valued file.
    expect(Object.keys(await s.bulkGetSecret()).sort()).toEqual(['connectionStrings', 'redisPassword']);
  });

  it('a missing secret is SecretNotFoundError', async () => {
    const s = new LocalFileSecretStore();
    await s.init(meta('secretstores.local.file', { secretsFile: secretsFile(DOC) }));
    await expect(s.getSecret({ name: 'nope', metadata: {} })).rejects.toThrow(SecretNotFoundError);
    await expect(s.getSecret({ name: 'connectionStrings', metadata: {} })).rejects.toThrow('secret connectionStrings not found');
  });

  it('refuses a missing secretsFile, an unreadable file, a non-object and a colliding flattened name', async () => {
    const init = (props: Record<string, string>) => new LocalFileSecretStore().init(meta('secretstores.local.file', props));
    await expect(init({})).rejects.toThrow(/secretsFile.*missing local secrets file/);
    await expect(init({ secretsFile: '/nonexistent/secrets.json' })).rejects.toThrow(ComponentConfigError);
    await expect(init({ secretsFile: secretsFile(['a']) })).rejects.toThrow(/must hold a JSON object/);
    await expect(init({ secretsFile: secretsFile({ 'a:b': 'x', a: { b: 'y' } }) })).rejects.toThrow(/duplicate secret name "a:b"/);
  });
});

describe('secretstores.local.env', () => {
  const env = { APP_DB_PASSWORD: 'pw', APP_USER: 'u', OTHER: 'o', DAPR_API_TOKEN: 'x', APP_API_TOKEN: 'y', APP_: 'empty-name' };

  it('reads variables; unset ones read as ""; DAPR_* and APP_API_TOKEN never', async () => {
    const s = new LocalEnvSecretStore(env);
    await s.init(meta('secretstores.local.env', {}));
    expect(await s.getSecret({ name: 'OTHER', metadata: {} })).toEqual({ OTHER: 'o' });
    expect(await s.getSecret({ name: 'UNSET', metadata: {} })).toEqual({ UNSET: '' });
    expect(await s.getSecret({ name: 'DAPR_API_TOKEN', metadata: {} })).toEqual({ DAPR_API_TOKEN: '' });
    const all = await s.bulkGetSecret();
    expect(all.OTHER).toEqual({ OTHER: 'o' });
    expect(all.DAPR_API_TOKEN).toBeUndefined();
    expect(all.APP_API_TOKEN).toBeUndefined();
  });

  it('prefix is prepended on get and stripped (and required) in bulk', async () => {
    const s = new LocalEnvSecretStore(env);
    await s.init(meta('secretstores.local.env', { prefix: 'APP_' }));
    expect(await s.getSecret({ name: 'DB_PASSWORD', metadata: {} })).toEqual({ DB_PASSWORD: 'pw' });
    expect(await s.getSecret({ name: 'OTHER', metadata: {} })).toEqual({ OTHER: '' });
    // APP_API_TOKEN is denied by its full name; "APP_" alone is not longer than the prefix.
    expect(await s.bulkGetSecret()).toEqual({ DB_PASSWORD: { DB_PASSWORD: 'pw' }, USER: { USER: 'u' } });
  });
});
