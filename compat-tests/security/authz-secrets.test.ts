// Secret scopes (Configuration spec.secrets.scopes) and component scopes on the built sidecar, on
// all three APIs: the real @dapr/dapr DaprClient over HTTP and gRPC, and the Layotto gRPC API (the
// `layotto` SDK has no secret client: a grpc-js client on proto/layotto). Each store reads the same
// file; the policies differ: an allow list, a deny list, default deny, none.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { DaprClient } from '@dapr/dapr';
import { loadLayottoDefinition, PACKAGE } from '../../src/api/layotto-grpc/protos';
import { sdkClient } from '../helpers/pubsub';
import { componentYaml, type Sidecar, startSidecar, waitHealthy } from '../helpers/sidecar';

const APP = 'authz-secrets';
const dir = mkdtempSync(join(tmpdir(), 'authz-secrets-'));
const SECRETS = join(dir, 'secrets.json');
const CONFIG = join(dir, 'config.yaml');
writeFileSync(SECRETS, JSON.stringify({ a: 'A', b: 'B', c: 'C' }));
writeFileSync(
  CONFIG,
  `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: authz
spec:
  secrets:
    scopes:
    - storeName: allowlisted
      defaultAccess: deny
      allowedSecrets: ["a"]
    - storeName: denylisted
      deniedSecrets: ["b"]
    - storeName: closed
      defaultAccess: DENY
    - storeName: allow-wins
      defaultAccess: allow
      allowedSecrets: ["c"]
      deniedSecrets: ["c"]
`,
);

const store = (name: string, extra = '') => componentYaml(name, 'secretstores.local.file', { secretsFile: SECRETS }, extra);

/** What each store lets the app read, and its bulk answer. */
const EXPECTED: Record<string, { allowed: string[]; denied: string[] }> = {
  allowlisted: { allowed: ['a'], denied: ['b', 'c'] },
  denylisted: { allowed: ['a', 'c'], denied: ['b'] },
  closed: { allowed: [], denied: ['a', 'b', 'c'] },
  'allow-wins': { allowed: ['c'], denied: ['a', 'b'] },
  open: { allowed: ['a', 'b', 'c'], denied: [] },
};
const VALUES: Record<string, string> = { a: 'A', b: 'B', c: 'C' };
const bulkOf = (keys: string[]) => Object.fromEntries(keys.map((k) => [k, { [k]: VALUES[k]! }]));

type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

describe('secret scopes and component scopes on the three APIs', () => {
  let sc: Sidecar;
  const clients: Partial<Record<'http' | 'grpc', DaprClient>> = {};
  let layotto: grpc.Client & Record<string, Unary>;
  const layottoCall = <T>(rpc: string, req: unknown) => new Promise<T>((res, rej) => layotto[rpc]!.call(layotto, req, (err, out) => (err ? rej(err) : res(out as T))));

  beforeAll(async () => {
    sc = await startSidecar({
      appId: APP,
      wait: false,
      args: ['--config', CONFIG],
      resources: {
        ...Object.fromEntries(Object.keys(EXPECTED).map((n) => [`${n}.yaml`, store(n)])),
        'foreign.yaml': store('foreign', 'scopes:\n- another-app\n'),
        'mine.yaml': store('mine', `scopes:\n- another-app\n- ${APP}\n`),
        'foreign-state.yaml': componentYaml('foreign-state', 'state.in-memory', {}, 'scopes: [another-app]\n'),
        'state.yaml': componentYaml('state', 'state.in-memory'),
      },
    });
    await waitHealthy(sc, 60_000); // a busy machine may take longer than the helper's default 20 s
    clients.http = sdkClient(sc, 'http');
    clients.grpc = sdkClient(sc, 'grpc');
    const Runtime = grpc.makeGenericClientConstructor(loadLayottoDefinition()[`${PACKAGE}.Runtime`] as grpc.ServiceDefinition, 'Runtime');
    layotto = new Runtime(`127.0.0.1:${sc.layottoPort}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, Unary>;
  }, 90_000);

  afterAll(async () => {
    layotto?.close();
    await Promise.all(Object.values(clients).map((c) => c.stop().catch(() => undefined)));
    await sc?.stop();
  });

  describe.each(['http', 'grpc'] as const)('DaprClient over %s', (protocol) => {
    const c = () => clients[protocol]!;

    it('reads what each policy allows; bulk leaves the denied secrets out', async () => {
      for (const [name, { allowed }] of Object.entries(EXPECTED)) {
        for (const key of allowed) expect(await c().secret.get(name, key)).toEqual({ [key]: VALUES[key] });
        expect(await c().secret.getBulk(name)).toEqual(bulkOf(allowed));
      }
    });

    it('a denied secret: 403 ERR_PERMISSION_DENIED / PermissionDenied, daprd\'s message', async () => {
      for (const [name, { denied }] of Object.entries(EXPECTED)) {
        for (const key of denied) {
          const e = (await c().secret.get(name, key).catch((x: unknown) => x)) as { message: string; code?: number; rawMessage?: string };
          const message = `access denied by policy to get "${key}" from "${name}"`;
          if (protocol === 'http') {
            const got = JSON.parse(e.message) as { status: number; error_msg: string };
            expect(got.status).toBe(403);
            expect(JSON.parse(got.error_msg)).toMatchObject({ errorCode: 'ERR_PERMISSION_DENIED', message });
          } else {
            expect([e.code, e.rawMessage]).toEqual([grpc.status.PERMISSION_DENIED, message]);
          }
        }
      }
    });

    it('a store scoped to another app is absent (401 ERR_SECRET_STORE_NOT_FOUND / InvalidArgument); one scoped to this app too is there', async () => {
      const e = (await c().secret.get('foreign', 'a').catch((x: unknown) => x)) as { message: string; code?: number; rawMessage?: string };
      if (protocol === 'http') {
        const got = JSON.parse(e.message) as { status: number; error_msg: string };
        expect([got.status, JSON.parse(got.error_msg)]).toEqual([401, { errorCode: 'ERR_SECRET_STORE_NOT_FOUND', message: 'failed finding secret store with key foreign' }]);
      } else {
        expect([e.code, e.rawMessage]).toEqual([grpc.status.INVALID_ARGUMENT, 'failed finding secret store with key foreign']);
      }
      expect(await c().secret.get('mine', 'b')).toEqual({ b: 'B' });
    });

    it('a state store scoped to another app is absent too (the one without scopes answers)', async () => {
      await c().state.save('state', [{ key: 'k', value: 'v' }]);
      expect(await c().state.get('state', 'k')).toBe('v');
      const e = (await c().state.get('foreign-state', 'k').catch((x: unknown) => x)) as { message: string; code?: number };
      if (protocol === 'http') expect(e.message).toContain('ERR_STATE_STORE_NOT_FOUND');
      else expect(e.code).toBe(grpc.status.INVALID_ARGUMENT);
    });
  });

  describe('Layotto gRPC API', () => {
    it('GetSecret reads what each policy allows; GetBulkSecret leaves the denied secrets out', async () => {
      for (const [name, { allowed }] of Object.entries(EXPECTED)) {
        for (const key of allowed) expect(await layottoCall('GetSecret', { store_name: name, key })).toEqual({ data: { [key]: VALUES[key] } });
        const bulk = await layottoCall<{ data: Record<string, { secrets: Record<string, string> }> }>('GetBulkSecret', { store_name: name });
        expect(Object.fromEntries(Object.entries(bulk.data).map(([k, v]) => [k, v.secrets]))).toEqual(bulkOf(allowed));
      }
    });

    it("a denied secret is PermissionDenied with Layotto's message; a store scoped to another app is unknown", async () => {
      for (const [name, { denied }] of Object.entries(EXPECTED)) {
        for (const key of denied) {
          const e = (await layottoCall('GetSecret', { store_name: name, key }).catch((x: unknown) => x)) as grpc.ServiceError;
          expect([e.code, e.details]).toEqual([grpc.status.PERMISSION_DENIED, `access denied by policy to get ${key} from ${name}`]);
        }
      }
      const e = (await layottoCall('GetSecret', { store_name: 'foreign', key: 'a' }).catch((x: unknown) => x)) as grpc.ServiceError;
      expect(e.code).toBe(grpc.status.INVALID_ARGUMENT);
    });
  });

  it('the metadata API lists the stores this app loaded, not the ones scoped away', async () => {
    const md = (await (await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/metadata`)).json()) as { components: { name: string }[] };
    const names = md.components.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['mine', ...Object.keys(EXPECTED)]));
    expect(names).not.toContain('foreign');
    expect(names).not.toContain('foreign-state');
  });
});
