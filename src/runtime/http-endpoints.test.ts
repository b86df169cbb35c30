// HTTPEndpoint resources: read by the loader (shape checked with file and line), scoped to app
// ids, header values resolved from plain values, envRef and secretKeyRef (a real local.file store).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ComponentStore } from '../components/store';
import { resolveHttpEndpoints } from './http-endpoints';
import { loadResources, ManifestError } from './loader';
import { ComponentProcessor } from './processor';

const log = pino({ level: 'silent' });
const root = mkdtempSync(join(tmpdir(), 'http-endpoints-'));
const SECRETS = join(root, 'secrets.json');
writeFileSync(SECRETS, JSON.stringify({ token: 's3cret' }));

const endpoint = (name: string, spec: string, extra = '') => `apiVersion: dapr.io/v1alpha1\nkind: HTTPEndpoint\nmetadata:\n  name: ${name}\nspec:\n${spec}\n${extra}`;
const vault = `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: vault\nspec:\n  type: secretstores.local.file\n  version: v1\n  metadata:\n  - {name: secretsFile, value: ${JSON.stringify(SECRETS)}}\n`;

async function resolve(files: Record<string, string>, appId = 'app1') {
  const d = mkdtempSync(join(root, 'res-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  const store = new ComponentStore();
  const loaded = loadResources([d], log);
  await new ComponentProcessor(store, { appId, namespace: '', log }).applyAll(loaded.components);
  return resolveHttpEndpoints(loaded.httpEndpoints, store, appId, log);
}

describe('HTTPEndpoint resources', () => {
  it('resolve base URL and headers (value, envRef, secretKeyRef); scopes leave out other apps', async () => {
    process.env.HTTP_EP_TEST = 'from-env';
    const list = await resolve({
      'a.yaml': endpoint(
        'billing',
        '  baseUrl: https://billing.example:8443/api\n  headers:\n  - name: X-Plain\n    value: v\n  - name: X-Env\n    envRef: HTTP_EP_TEST\n  - name: Authorization\n    secretKeyRef: {name: token, key: token}',
        'auth:\n  secretStore: vault\n',
      ),
      'b.yaml': endpoint('other', '  baseUrl: http://other', 'scopes: [someone-else]\n'),
      'v.yaml': vault,
    });
    expect(list).toEqual([{ name: 'billing', baseUrl: 'https://billing.example:8443/api', headers: { 'X-Plain': 'v', 'X-Env': 'from-env', Authorization: 's3cret' } }]);
  });

  it('a base URL that is not http(s) stops loading with file, line and field', async () => {
    const e = await resolve({ 'a.yaml': endpoint('bad', '  baseUrl: ftp://x') }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ManifestError);
    expect((e as Error).message).toMatch(/a\.yaml:6: spec\.baseUrl: must be an http:\/\/ or https:\/\/ URL/);
  });

  it('a secretKeyRef without a store is reported with the header it belongs to', async () => {
    const e = await resolve({ 'a.yaml': endpoint('x', '  baseUrl: http://x\n  headers:\n  - name: A\n    secretKeyRef: {name: token}') }).catch((x: unknown) => x);
    expect((e as Error).message).toMatch(/a\.yaml:1: spec\.headers\.0: secretKeyRef token needs a secret store/);
  });
});
