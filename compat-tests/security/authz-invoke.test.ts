// Service invocation access control (Configuration spec.accessControl) on the built sidecar,
// enforced by the callee's sidecar: callers X and Y (sidecars without apps) call app B (an HTTP
// app) across sidecars, found through the default sqlite name resolution. B's policy: default
// deny; X may POST /allowed/* and use any verb on /open/**. Without mTLS the caller is the app id
// its sidecar sends (dapr-caller-app-id). Through the real @dapr/dapr DaprClient (HTTP and gRPC),
// the Layotto SDK, and gRPC proxying to a gRPC app (policy on /proxytest.v1.Echo/Unary).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { DaprClient, HttpMethod } from '@dapr/dapr';
import { echoClient, type EchoApp, startEchoApp, to, unary } from '../../test/grpc-echo';
import { PlainApp, sdkFailure } from '../helpers/invoke';
import { sdkClient } from '../helpers/pubsub';
import { type Sidecar, type SidecarOptions, startSidecar, waitHealthy } from '../helpers/sidecar';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Client: LayottoClient, RuntimeTypes } = require('layotto') as typeof import('layotto');
const Verb = RuntimeTypes.HTTPExtension.Verb;

const X = 'authz-caller-x';
const Y = 'authz-caller-y';
const B = 'authz-target-b';
const G = 'authz-target-grpc';
/** How long one sidecar may take to turn healthy on a loaded machine. */
const STARTUP_MS = 60_000;

const dir = mkdtempSync(join(tmpdir(), 'authz-invoke-'));
const config = (name: string, policies: string) => {
  const f = join(dir, `${name}.yaml`);
  writeFileSync(f, `apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: ${name}\nspec:\n  accessControl:\n    defaultAction: deny\n    trustDomain: public\n    policies:\n${policies}`);
  return f;
};
const B_CONFIG = config(
  'b',
  `    - appId: ${X}
      defaultAction: deny
      trustDomain: public
      namespace: default
      operations:
      - name: /allowed/*
        httpVerb: ['POST']
        action: allow
      - name: /open/**
        httpVerb: ['*']
        action: allow
`,
);
const G_CONFIG = config(
  'g',
  `    - appId: ${X}
      trustDomain: public
      namespace: default
      operations:
      - name: /proxytest.v1.Echo/Unary
        action: allow
`,
);

const denial = (caller: string, operation: string, verb: string) => `access control policy has denied access to id: spiffe://public/ns/default/${caller} operation: ${operation} verb: ${verb}`;
const viaSidecar = (target: string, why: string) => `failed to invoke, id: ${target}, err: rpc error: code = PermissionDenied desc = ${why}`;

describe('invocation access control on the callee sidecar', () => {
  const app = new PlainApp();
  let echo: EchoApp;
  const sc: Record<string, Sidecar> = {};
  const clients: DaprClient[] = [];
  const layotto: InstanceType<typeof LayottoClient>[] = [];
  const dapr = (caller: string, protocol: 'http' | 'grpc') => {
    const c = sdkClient(sc[caller]!, protocol);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    await app.start();
    echo = await startEchoApp(G);
    // One at a time, each with a long health deadline: on a busy machine four sidecars starting at once
    // can each take longer than the helper's default 20 s.
    const start = async (o: SidecarOptions) => {
      const s = await startSidecar({ ...o, wait: false });
      await waitHealthy(s, STARTUP_MS);
      return s;
    };
    sc[B] = await start({ appId: B, args: ['--app-port', String(app.port), '--config', B_CONFIG] });
    sc[G] = await start({ appId: G, layotto: false, args: ['--app-port', String(echo.port), '--app-protocol', 'grpc', '--config', G_CONFIG] });
    sc[X] = await start({ appId: X });
    sc[Y] = await start({ appId: Y });
  }, 5 * STARTUP_MS);

  afterAll(async () => {
    for (const l of layotto) l.close();
    await Promise.all(clients.map((c) => c.stop().catch(() => undefined)));
    await Promise.all(Object.values(sc).map((s) => s.stop()));
    await app.stop();
    await echo?.close();
  });

  it("the callee logs the policy it loaded", () => {
    expect(sc[B]!.output()).toContain('access control: default action deny, 1 app policies, trust domain public');
  });

  describe.each(['http', 'grpc'] as const)('DaprClient over %s', (protocol) => {
    const call = (caller: string, method: string, verb: string) => dapr(caller, protocol).invoker.invoke(B, method, verb as HttpMethod, verb === 'GET' ? undefined : { from: caller });
    const seen = () => app.seen.length;

    it('the allowed caller, path and verb reach the app', async () => {
      const before = seen();
      expect(await call(X, 'allowed/one', 'POST')).toMatchObject({ method: 'POST', url: '/allowed/one' });
      expect(await call(X, 'ALLOWED/Two', 'POST')).toMatchObject({ url: '/ALLOWED/Two' }); // HTTP apps: paths match case-insensitively
      for (const verb of ['GET', 'PUT', 'DELETE']) expect(await call(X, 'open/a/b', verb)).toMatchObject({ method: verb, url: '/open/a/b' });
      expect(seen()).toBe(before + 5);
      expect(app.last().headers['dapr-caller-app-id']).toBe(X);
    });

    it('another caller, a wrong verb, a path outside the policy or too deep for /*: denied, the app never sees them', async () => {
      const before = seen();
      const denied: [string, string, string][] = [
        [Y, 'allowed/one', 'POST'],
        [X, 'allowed/one', 'GET'],
        [X, 'allowed/one', 'PUT'],
        [X, 'other', 'POST'],
        [X, 'allowed/one/two', 'POST'],
      ];
      for (const [caller, method, verb] of denied) {
        const got = await sdkFailure(call(caller, method, verb));
        const message = viaSidecar(B, denial(caller, method, verb));
        if (protocol === 'http') {
          expect(got.status).toBe(403);
          expect(JSON.parse(got.message)).toEqual({ errorCode: 'ERR_DIRECT_INVOKE', message });
        } else {
          expect([got.code, got.message]).toEqual([grpc.status.INTERNAL, message]);
        }
      }
      expect(seen()).toBe(before);
    });
  });

  it("the Dapr HTTP API's other entry (dapr-app-id header) is checked the same way", async () => {
    const denied = await fetch(`http://127.0.0.1:${sc[Y]!.httpPort}/allowed/x`, { method: 'POST', headers: { 'dapr-app-id': B }, body: '{}' });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({ errorCode: 'ERR_DIRECT_INVOKE', message: viaSidecar(B, denial(Y, 'allowed/x', 'POST')) });
    const allowed = await fetch(`http://127.0.0.1:${sc[X]!.httpPort}/allowed/x`, { method: 'POST', headers: { 'dapr-app-id': B }, body: '{}' });
    expect(allowed.status).toBe(200);
  });

  it("a caller cannot pass itself off as X with its own dapr-caller-app-id header: its sidecar stamps the real one", async () => {
    const r = await fetch(`http://127.0.0.1:${sc[Y]!.httpPort}/v1.0/invoke/${B}/method/allowed/x`, { method: 'POST', headers: { 'dapr-caller-app-id': X }, body: '{}' });
    expect(r.status).toBe(403);
    expect(((await r.json()) as { message: string }).message).toContain(`id: spiffe://public/ns/default/${Y} `);
  });

  it('the Layotto SDK (InvokeService): allowed for X, PERMISSION_DENIED with the reason for Y', async () => {
    const lx = new LayottoClient(String(sc[X]!.layottoPort), '127.0.0.1');
    const ly = new LayottoClient(String(sc[Y]!.layottoPort), '127.0.0.1');
    layotto.push(lx, ly);
    const ok = await lx.invoker.invoke({ id: B, method: 'allowed/l', httpVerb: Verb.POST, data: { a: 1 } });
    expect(ok.content).toMatchObject({ method: 'POST', url: '/allowed/l' });
    const e = (await ly.invoker.invoke({ id: B, method: 'allowed/l', httpVerb: Verb.POST, data: { a: 1 } }).catch((x: unknown) => x)) as grpc.ServiceError;
    expect([e.code, e.details]).toEqual([grpc.status.PERMISSION_DENIED, `rpc error: code = PermissionDenied desc = ${denial(Y, 'allowed/l', 'POST')}`]);
  });

  it('gRPC proxying to a gRPC app: the policy names /package.Service/Method; X passes, Y gets PERMISSION_DENIED from the callee', async () => {
    const cx = echoClient(sc[X]!.grpcPort);
    const cy = echoClient(sc[Y]!.grpcPort);
    try {
      echo.reset();
      const ok = await unary(cx, { text: 'hi' }, to(G));
      expect(ok.err).toBeNull();
      expect(ok.res?.text).toBe(`${G}:hi`);
      const no = await unary(cy, { text: 'hi' }, to(G));
      expect([no.err?.code, no.err?.details]).toEqual([grpc.status.PERMISSION_DENIED, denial(Y, '/proxytest.v1.Echo/Unary', 'NONE')]);
      expect(echo.seen).toHaveLength(1);
    } finally {
      cx.close();
      cy.close();
    }
  });
});
