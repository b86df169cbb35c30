// The built sidecar's secrets API over Dapr gRPC through the real @dapr/dapr SDK (ConnectRPC):
// get/getBulk on a local.file store and the gRPC codes daprd gives for its errors.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';

const INVALID_ARGUMENT = 3;
const PERMISSION_DENIED = 7;
const INTERNAL = 13;

const dir = mkdtempSync(join(tmpdir(), 'grpc-secrets-'));
const SECRETS = join(dir, 'secrets.json');
const CONFIG = join(dir, 'config.yaml');
writeFileSync(SECRETS, JSON.stringify({ greeting: 'hola', db: { password: 'pw' }, forbidden: 'no' }));
writeFileSync(CONFIG, 'apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: cfg\nspec:\n  secrets:\n    scopes:\n      - storeName: vault\n        deniedSecrets: [forbidden]\n');

async function rejection(p: Promise<unknown>): Promise<{ code?: number; rawMessage?: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code?: number; rawMessage?: string };
  }
  throw new Error('expected the call to fail');
}

describe('Dapr gRPC secrets via @dapr/dapr SDK', () => {
  let sc: Sidecar;
  let client: DaprClient;

  beforeAll(async () => {
    sc = await startSidecar({
      resources: { 'vault.yaml': componentYaml('vault', 'secretstores.local.file', { secretsFile: SECRETS }) },
      args: ['--config', CONFIG],
    });
    client = new DaprClient({ daprHost: '127.0.0.1', daprPort: String(sc.grpcPort), communicationProtocol: CommunicationProtocolEnum.GRPC, logger: { level: LogLevel.Error } });
    await client.start();
  });
  afterAll(async () => {
    await client.stop().catch(() => undefined);
    await sc.stop();
  });

  it('get and getBulk (denied secrets left out of bulk)', async () => {
    expect(await client.secret.get('vault', 'greeting')).toEqual({ greeting: 'hola' });
    expect(await client.secret.get('vault', 'db:password')).toEqual({ 'db:password': 'pw' });
    expect(await client.secret.getBulk('vault')).toEqual({ greeting: { greeting: 'hola' }, 'db:password': { 'db:password': 'pw' } });
  });

  it('unknown store is InvalidArgument', async () => {
    const e = await rejection(client.secret.get('nope', 'greeting'));
    expect(e.code).toBe(INVALID_ARGUMENT);
    expect(e.rawMessage).toBe('failed finding secret store with key nope');
    expect((await rejection(client.secret.getBulk('nope'))).code).toBe(INVALID_ARGUMENT);
  });

  it('missing secret is Internal', async () => {
    const e = await rejection(client.secret.get('vault', 'missing'));
    expect(e.code).toBe(INTERNAL);
    expect(e.rawMessage).toBe('failed getting secret with key missing from secret store vault: secret missing not found');
  });

  it('denied secret is PermissionDenied', async () => {
    const e = await rejection(client.secret.get('vault', 'forbidden'));
    expect(e.code).toBe(PERMISSION_DENIED);
    expect(e.rawMessage).toBe('access denied by policy to get "forbidden" from "vault"');
  });
});
