// The built sidecar's secrets on the Layotto gRPC API. The `layotto` SDK has no secret client, so
// GetSecret/GetBulkSecret go through a grpc-js client built from proto/layotto; SayHello goes
// through the SDK and shows a component whose metadata came from a secretKeyRef.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadLayottoDefinition, PACKAGE } from '../../src/api/layotto-grpc/protos';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Client } = require('layotto') as typeof import('layotto');

const INVALID_ARGUMENT = 3;
const PERMISSION_DENIED = 7;
const INTERNAL = 13;

const dir = mkdtempSync(join(tmpdir(), 'layotto-secrets-'));
const SECRETS = join(dir, 'secrets.json');
const CONFIG = join(dir, 'config.yaml');
writeFileSync(SECRETS, JSON.stringify({ greeting: 'hola', db: { password: 'pw' }, forbidden: 'no' }));
writeFileSync(CONFIG, 'apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: cfg\nspec:\n  secrets:\n    scopes:\n      - storeName: vault\n        deniedSecrets: [forbidden]\n');

const HELLO =
  'apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: helloworld\nspec:\n  type: hello.helloworld\n  version: v1\n  metadata:\n  - name: hello\n    secretKeyRef: {name: greeting, key: greeting}\nauth:\n  secretStore: vault\n';

type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

describe('Layotto secrets on the built sidecar', () => {
  let sc: Sidecar;
  let runtime: grpc.Client & Record<string, Unary>;
  const call = <T>(rpc: string, req: unknown) =>
    new Promise<T>((res, rej) => runtime[rpc]!.call(runtime, req, (err, out) => (err ? rej(err) : res(out as T))));
  const failure = (p: Promise<unknown>) => p.then(() => Promise.reject(new Error('expected failure')), (e: grpc.ServiceError) => e);

  beforeAll(async () => {
    sc = await startSidecar({
      resources: { 'vault.yaml': componentYaml('vault', 'secretstores.local.file', { secretsFile: SECRETS }), 'hello.yaml': HELLO },
      args: ['--config', CONFIG],
    });
    const Runtime = grpc.makeGenericClientConstructor(loadLayottoDefinition()[`${PACKAGE}.Runtime`] as grpc.ServiceDefinition, 'Runtime');
    runtime = new Runtime(`127.0.0.1:${sc.layottoPort}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, Unary>;
  });
  afterAll(async () => {
    runtime?.close();
    await sc.stop();
  });

  it('SayHello through the SDK shows the greeting resolved from the secret store', async () => {
    const client = new Client(String(sc.layottoPort), '127.0.0.1');
    try {
      expect(await client.hello.sayHello({ serviceName: 'helloworld', name: 'layotto' })).toBe('hola, layotto');
    } finally {
      client.close();
    }
  });

  it('GetSecret and GetBulkSecret (denied secrets left out of bulk)', async () => {
    expect(await call('GetSecret', { store_name: 'vault', key: 'db:password' })).toEqual({ data: { 'db:password': 'pw' } });
    expect(await call('GetBulkSecret', { store_name: 'vault' })).toEqual({
      data: { greeting: { secrets: { greeting: 'hola' } }, 'db:password': { secrets: { 'db:password': 'pw' } } },
    });
  });

  it('unknown store InvalidArgument, missing secret Internal, denied PermissionDenied', async () => {
    const unknown = await failure(call('GetSecret', { store_name: 'nope', key: 'greeting' }));
    expect([unknown.code, unknown.details]).toEqual([INVALID_ARGUMENT, 'failed finding secret store with key nope']);
    expect((await failure(call('GetSecret', { store_name: 'vault', key: 'missing' }))).code).toBe(INTERNAL);
    const denied = await failure(call('GetSecret', { store_name: 'vault', key: 'forbidden' }));
    expect([denied.code, denied.details]).toEqual([PERMISSION_DENIED, 'access denied by policy to get forbidden from vault']);
  });
});
