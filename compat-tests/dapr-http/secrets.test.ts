// The built sidecar's secrets API over Dapr HTTP: the real @dapr/dapr SDK (HTTP) for get/getBulk,
// plain fetch for daprd's status codes. A local.file store, a --config with secret scopes, and a
// hello component whose metadata comes from a secretKeyRef (resolved at load time).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';

const dir = mkdtempSync(join(tmpdir(), 'http-secrets-'));
const SECRETS = join(dir, 'secrets.json');
const CONFIG = join(dir, 'config.yaml');
writeFileSync(SECRETS, JSON.stringify({ greeting: 'hola', db: { password: 'p<w>&' }, forbidden: 'no' }));
writeFileSync(CONFIG, 'apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: cfg\nspec:\n  secrets:\n    scopes:\n      - storeName: vault\n        deniedSecrets: [forbidden]\n');

describe('Dapr HTTP secrets on the built sidecar', () => {
  let sc: Sidecar;
  let client: DaprClient;
  const url = (path: string) => `http://127.0.0.1:${sc.httpPort}${path}`;

  beforeAll(async () => {
    sc = await startSidecar({
      resources: {
        'vault.yaml': componentYaml('vault', 'secretstores.local.file', { secretsFile: SECRETS }),
        'env.yaml': componentYaml('env', 'secretstores.local.env', { prefix: 'HTTPSECRETS_' }),
      },
      env: { HTTPSECRETS_token: 't0k' },
      args: ['--config', CONFIG],
    });
    client = new DaprClient({ daprHost: '127.0.0.1', daprPort: String(sc.httpPort), communicationProtocol: CommunicationProtocolEnum.HTTP, logger: { level: LogLevel.Error } });
  });
  afterAll(async () => {
    await sc.stop();
  });

  it('SDK get and getBulk (flattened names; denied secrets left out of bulk)', async () => {
    expect(await client.secret.get('vault', 'greeting')).toEqual({ greeting: 'hola' });
    expect(await client.secret.get('vault', 'db:password')).toEqual({ 'db:password': 'p<w>&' });
    expect(await client.secret.getBulk('vault')).toEqual({ greeting: { greeting: 'hola' }, 'db:password': { 'db:password': 'p<w>&' } });
    expect(await client.secret.get('env', 'token')).toEqual({ token: 't0k' });
  });

  it('answers 200 JSON as Go marshals it; metadata.* query is accepted', async () => {
    const r = await fetch(url('/v1.0/secrets/vault/db:password?metadata.version_id=1'));
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(await r.text()).toBe('{"db:password":"p\\u003cw\\u003e\\u0026"}');
  });

  it('unknown store is 401 ERR_SECRET_STORE_NOT_FOUND (get and bulk)', async () => {
    for (const path of ['/v1.0/secrets/nope/greeting', '/v1.0/secrets/nope/bulk']) {
      const r = await fetch(url(path));
      expect(r.status).toBe(401);
      expect(await r.json()).toEqual({ errorCode: 'ERR_SECRET_STORE_NOT_FOUND', message: 'failed finding secret store with key nope' });
    }
  });

  it('missing secret is 500 ERR_SECRET_GET', async () => {
    const r = await fetch(url('/v1.0/secrets/vault/missing'));
    expect(r.status).toBe(500);
    expect(await r.json()).toEqual({ errorCode: 'ERR_SECRET_GET', message: 'failed getting secret with key missing from secret store vault: secret missing not found' });
  });

  it('a secret denied by the Configuration scopes is 403 ERR_PERMISSION_DENIED', async () => {
    const r = await fetch(url('/v1.0/secrets/vault/forbidden'));
    expect(r.status).toBe(403);
    expect(await r.json()).toEqual({ errorCode: 'ERR_PERMISSION_DENIED', message: 'access denied by policy to get "forbidden" from "vault"' });
  });

  it('secret stores are listed by the metadata API', async () => {
    const md = (await (await fetch(url('/v1.0/metadata'))).json()) as { components: { name: string; type: string }[] };
    expect(md.components).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'vault', type: 'secretstores.local.file' })]));
  });
});

describe('Dapr HTTP secrets without secret stores', () => {
  it('is 500 ERR_SECRET_STORES_NOT_CONFIGURED', async () => {
    const sc = await startSidecar({ resources: {} });
    try {
      const r = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/secrets/vault/x`);
      expect(r.status).toBe(500);
      expect(await r.json()).toEqual({ errorCode: 'ERR_SECRET_STORES_NOT_CONFIGURED', message: 'secret store is not configured' });
    } finally {
      await sc.stop();
    }
  });

  it('a secretKeyRef to a missing secret stops startup with the file and line', async () => {
    const hello =
      'apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: h\nspec:\n  type: hello.helloworld\n  version: v1\n  metadata:\n  - name: hello\n    secretKeyRef: {name: nope}\nauth:\n  secretStore: vault\n';
    const sc = await startSidecar({
      resources: { 'hello.yaml': hello, 'vault.yaml': componentYaml('vault', 'secretstores.local.file', { secretsFile: SECRETS }) },
      wait: false,
    });
    expect(await sc.exited).not.toBe(0);
    expect(sc.output()).toMatch(/hello\.yaml:9: spec\.metadata\[0\]: secretKeyRef nope: secret nope not found/);
  });
});
