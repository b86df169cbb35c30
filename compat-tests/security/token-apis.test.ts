// DAPR_API_TOKEN on the built sidecar: every call to the Dapr HTTP, Dapr gRPC (unary, server and
// bidi streams, proxied app calls) and Layotto gRPC APIs needs `dapr-api-token`; without it or with
// a wrong one daprd's answers come back (HTTP 401 "invalid api token" as text, gRPC UNAUTHENTICATED
// "Unauthorized" with an ErrorInfo); GET /v1.0/healthz and /healthz/outbound stay open. Driven by
// raw requests, the real @dapr/dapr DaprClient (HTTP and gRPC) and the real layotto SDK.
import { randomBytes } from 'node:crypto';
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr';
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { daprClientConstructor } from '../../src/api/dapr-grpc/protos';
import { loadLayottoDefinition } from '../../src/api/layotto-grpc/protos';
import { collect, echoClient, type EchoApp, metadata, startEchoApp, to, unary } from '../../test/grpc-echo';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';

/** A sidecar's health deadline: several starting at once on a busy machine can take longer than the helper's 20 s. */
const STARTUP_MS = 60_000;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Client: LayottoClient } = require('layotto') as typeof import('layotto');

const TOKEN = `tok-${randomBytes(12).toString('hex')}`;
const WRONG = `bad-${randomBytes(12).toString('hex')}`;
const APP = 'token-apis';
const silent = () => undefined;
const quietLogger = { level: LogLevel.Error, service: { error: silent, warn: silent, info: silent, verbose: silent, debug: silent } };

type Callback = (err: grpc.ServiceError | null, res?: unknown) => void;
type Rpc = (req: unknown, md: grpc.Metadata, cb: Callback) => void;
const callUnary = (client: grpc.Client, rpc: string, req: unknown, md = new grpc.Metadata()) =>
  new Promise<{ err: grpc.ServiceError | null; res?: unknown }>((resolve) => ((client as unknown as Record<string, Rpc>)[rpc]!).call(client, req, md, (err, res) => resolve({ err, res })));

const withToken = (token: string, pairs: [string, string][] = []) => metadata([['dapr-api-token', token], ...pairs]);

/** The google.rpc.ErrorInfo of a status (grpc-status-details-bin). */
function errorInfo(md: grpc.Metadata | undefined): unknown {
  const bin = md?.get('grpc-status-details-bin')[0];
  if (!Buffer.isBuffer(bin)) return undefined;
  const root = protobuf.Root.fromJSON({
    nested: {
      Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
      Status: { fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 }, details: { rule: 'repeated', type: 'Any', id: 3 } } },
      ErrorInfo: { fields: { reason: { type: 'string', id: 1 }, domain: { type: 'string', id: 2 }, metadata: { keyType: 'string', type: 'string', id: 3 } as protobuf.IField } },
    },
  });
  const st = root.lookupType('Status').toObject(root.lookupType('Status').decode(bin)) as { details: { type_url: string; value: Uint8Array }[] };
  return { type: st.details[0]!.type_url, ...root.lookupType('ErrorInfo').toObject(root.lookupType('ErrorInfo').decode(st.details[0]!.value)) };
}

const expectUnauthenticated = (err: { code?: number; details?: string; metadata?: grpc.Metadata } | null | undefined, why: string) => {
  expect(err?.code).toBe(grpc.status.UNAUTHENTICATED);
  expect(err?.details).toBe('Unauthorized');
  expect(errorInfo(err?.metadata)).toEqual({ type: 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'Unauthorized', domain: 'dapr.io', metadata: { 'http.code': '401', 'http.error_message': why } });
};
const MISSING = 'missing api token in request metadata';
const MISMATCH = 'authentication error: api token mismatch';

describe('DAPR_API_TOKEN guards every API', () => {
  let app: EchoApp;
  let sc: Sidecar;
  let http: (path: string, init?: RequestInit & { token?: string }) => Promise<Response>;

  beforeAll(async () => {
    app = await startEchoApp(APP);
    sc = await startSidecar({
      startupMs: STARTUP_MS,
      appId: APP,
      resources: { 's.yaml': componentYaml('statestore', 'state.in-memory'), 'h.yaml': componentYaml('helloworld', 'hello.helloworld', { hello: 'greeting' }) },
      args: ['--app-port', String(app.port), '--app-protocol', 'grpc', '--log-level', 'debug', '--enable-api-logging'],
      env: { DAPR_API_TOKEN: TOKEN },
    });
    http = (path, init = {}) => {
      const { token, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (token !== undefined) headers.set('dapr-api-token', token);
      return fetch(`http://127.0.0.1:${sc.httpPort}${path}`, { ...rest, headers });
    };
  }, 3 * STARTUP_MS);
  afterAll(async () => {
    await sc?.stop();
    await app?.close();
  });

  describe('Dapr HTTP API', () => {
    // Every row has a body slot: jest would take a missing third argument for a `done` callback.
    const CALLS: [string, string, string | undefined][] = [
      ['GET', '/v1.0/metadata', undefined], // the SDKs' readiness poll: not open on daprd either
      ['PUT', '/v1.0/metadata/k', 'v'],
      ['POST', '/v1.0/state/statestore', JSON.stringify([{ key: 'k', value: 'v' }])],
      ['GET', '/v1.0/state/statestore/k', undefined],
      ['POST', '/v1.0/publish/nopubsub/topic', '{}'],
      ['POST', `/v1.0/invoke/${APP}/method/hello`, '{}'],
      ['POST', '/orders', undefined], // the invoke fallback
      ['HEAD', '/v1.0/healthz', undefined], // only GET is open
      ['POST', '/v1.0/healthz', undefined],
      ['POST', '/v1.0/shutdown', undefined],
    ];

    it.each(CALLS)("%s %s without the token or with a wrong one: daprd's 401 'invalid api token'", async (method, path, body) => {
      for (const token of [undefined, WRONG, '', TOKEN.slice(0, -1)]) {
        const res = await http(path, { method, body, token });
        expect([res.status, res.headers.get('content-type'), res.headers.get('x-content-type-options')]).toEqual([401, 'text/plain; charset=utf-8', 'nosniff']);
        expect(await res.text()).toBe(method === 'HEAD' ? '' : 'invalid api token\n');
      }
    });

    it('with the token every call goes through', async () => {
      expect((await http('/v1.0/state/statestore', { method: 'POST', body: JSON.stringify([{ key: 'k1', value: 'v1' }]), token: TOKEN })).status).toBe(204);
      const got = await http('/v1.0/state/statestore/k1', { token: TOKEN });
      expect([got.status, await got.text()]).toEqual([200, '"v1"']);
      expect((await http('/v1.0/metadata', { token: TOKEN })).status).toBe(200);
    });

    it('a refused write changes nothing', async () => {
      expect((await http('/v1.0/state/statestore', { method: 'POST', body: JSON.stringify([{ key: 'k2', value: 'sneaky' }]) })).status).toBe(401);
      expect((await http('/v1.0/state/statestore/k2', { token: TOKEN })).status).toBe(204);
    });

    it('GET /v1.0/healthz and /v1.0/healthz/outbound stay open (with or without a token)', async () => {
      for (const path of ['/v1.0/healthz', '/v1.0/healthz/outbound', '/v1.0/healthz/'])
        for (const token of [undefined, WRONG, TOKEN]) expect((await http(path, { token })).status).toBe(204);
    });
  });

  describe('Dapr gRPC API', () => {
    let dapr: grpc.Client;
    beforeAll(() => {
      dapr = new (daprClientConstructor())(`127.0.0.1:${sc.grpcPort}`, grpc.credentials.createInsecure());
    });
    afterAll(() => dapr.close());

    it('unary: UNAUTHENTICATED without the token or with a wrong one; answered with it', async () => {
      expectUnauthenticated((await callUnary(dapr, 'GetMetadata', {})).err, MISSING);
      expectUnauthenticated((await callUnary(dapr, 'GetMetadata', {}, withToken(WRONG))).err, MISMATCH);
      expectUnauthenticated((await callUnary(dapr, 'SaveState', { store_name: 'statestore', states: [{ key: 'g', value: Buffer.from('x') }] }, withToken(''))).err, MISMATCH);
      const ok = await callUnary(dapr, 'GetMetadata', {}, withToken(TOKEN));
      expect(ok.err).toBeNull();
      expect((ok.res as { id: string }).id).toBe(APP);
    });

    it('server and bidi streams are refused before they start', async () => {
      const c = dapr as unknown as Record<string, (...a: unknown[]) => grpc.ClientReadableStream<unknown>>;
      const server = await collect(c.SubscribeConfiguration!.call(dapr, { store_name: 'none', keys: [] }, new grpc.Metadata()) as grpc.ClientReadableStream<unknown>);
      expectUnauthenticated(server.status, MISSING);
      const bidi = c.SubscribeTopicEventsAlpha1!.call(dapr, withToken(WRONG)) as unknown as grpc.ClientDuplexStream<unknown, unknown>;
      const done = collect(bidi);
      bidi.write({ initial_request: { pubsub_name: 'p', topic: 't' } });
      expectUnauthenticated((await done).status, MISMATCH);
    });

    it('proxied calls to an app (dapr-app-id) need the token too; it does not reach the app', async () => {
      const echo = echoClient(sc.grpcPort);
      try {
        expectUnauthenticated((await unary(echo, { text: 'x' }, to(APP))).err, MISSING);
        expectUnauthenticated((await unary(echo, { text: 'x' }, to(APP, [['dapr-api-token', WRONG]]))).err, MISMATCH);
        const bidi = echo.Bidi(to(APP));
        const done = collect(bidi);
        bidi.write({ text: 'b' });
        bidi.end();
        expectUnauthenticated((await done).status, MISSING);
        expect(app.seen).toEqual([]);
        const ok = await unary(echo, { text: 'hi' }, to(APP, [['dapr-api-token', TOKEN]]));
        expect(ok.err).toBeNull();
        expect(ok.res?.text).toBe(`${APP}:hi`);
        expect(app.seen[0]!.metadata['dapr-api-token']).toBeUndefined();
        // An unknown method: daprd's interceptor answers before its proxy handler does.
        expectUnauthenticated((await unary(echo, { text: 'x' }, new grpc.Metadata())).err, MISSING);
        expect((await unary(echo, { text: 'x' }, withToken(TOKEN))).err?.code).toBe(grpc.status.UNIMPLEMENTED);
      } finally {
        echo.close();
      }
    });
  });

  describe('Layotto gRPC API', () => {
    it('raw grpc-js: UNAUTHENTICATED without the token, answered with it', async () => {
      const pkg = grpc.loadPackageDefinition(loadLayottoDefinition()) as unknown as { spec: { proto: { runtime: { v1: { Runtime: grpc.ServiceClientConstructor } } } } };
      const client = new pkg.spec.proto.runtime.v1.Runtime(`127.0.0.1:${sc.layottoPort}`, grpc.credentials.createInsecure());
      try {
        expectUnauthenticated((await callUnary(client, 'SayHello', { service_name: 'helloworld', name: 'x' })).err, MISSING);
        expectUnauthenticated((await callUnary(client, 'SayHello', { service_name: 'helloworld', name: 'x' }, withToken(WRONG))).err, MISMATCH);
        const ok = await callUnary(client, 'SayHello', { service_name: 'helloworld', name: 'x' }, withToken(TOKEN));
        expect(ok.err).toBeNull();
        expect((ok.res as { hello: string }).hello).toBe('greeting, x');
      } finally {
        client.close();
      }
    });

    it('the layotto SDK works with the token in its metadata and gets UNAUTHENTICATED without', async () => {
      const good = new LayottoClient(String(sc.layottoPort), '127.0.0.1', { createMetadataHook: () => ({ 'dapr-api-token': TOKEN }) });
      const bare = new LayottoClient(String(sc.layottoPort), '127.0.0.1');
      expect(await good.hello.sayHello({ serviceName: 'helloworld', name: 'sdk' })).toBe('greeting, sdk');
      await good.state.save({ storeName: 'statestore', states: [{ key: 'layotto-k', value: 'lv' }] });
      expect(Buffer.from((await good.state.get({ storeName: 'statestore', key: 'layotto-k' }))?.value ?? []).toString()).toBe('lv');
      await expect(bare.hello.sayHello({ serviceName: 'helloworld', name: 'sdk' })).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
      await expect(bare.state.save({ storeName: 'statestore', states: [{ key: 'layotto-k', value: 'x' }] })).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
      // A per-request token works too.
      expect(await bare.hello.sayHello({ serviceName: 'helloworld', name: 'req', requestMeta: { 'dapr-api-token': TOKEN } })).toBe('greeting, req');
    });
  });

  describe('@dapr/dapr DaprClient', () => {
    for (const protocol of ['http', 'grpc'] as const) {
      const options = (daprApiToken?: string) => ({
        daprHost: '127.0.0.1',
        daprPort: String(protocol === 'grpc' ? sc.grpcPort : sc.httpPort),
        communicationProtocol: protocol === 'grpc' ? CommunicationProtocolEnum.GRPC : CommunicationProtocolEnum.HTTP,
        logger: quietLogger,
        ...(daprApiToken !== undefined && { daprApiToken }),
      });

      it(`over ${protocol}: works with daprApiToken`, async () => {
        const client = new DaprClient(options(TOKEN));
        try {
          await client.state.save('statestore', [{ key: `sdk-${protocol}`, value: { n: 1 } }]);
          expect(await client.state.get('statestore', `sdk-${protocol}`)).toEqual({ n: 1 });
          expect((await client.metadata.get()).id).toBe(APP);
        } finally {
          await client.stop();
        }
      });

      it(`over ${protocol}: without it (or with a wrong one) every call is refused`, async () => {
        const refused = protocol === 'http' ? /"status":401/ : /unauthenticated/i;
        for (const token of [undefined, WRONG]) {
          const client = new DaprClient(options(token));
          // The SDK's own readiness poll (GET /v1.0/metadata, GetMetadata) is refused too, so it would
          // wait out its 60 tries: past it, the calls themselves get the refusal.
          client.daprClient.setIsInitialized(true);
          try {
            // The HTTP client reports a failed save as { error } instead of throwing.
            const saved = await client.state.save('statestore', [{ key: 'sdk-no', value: 1 }]).then((r) => (r as { error?: unknown }).error, (e: unknown) => e);
            expect(String(saved)).toMatch(refused);
            await expect(client.metadata.get()).rejects.toThrow(refused);
          } finally {
            await client.stop();
          }
        }
      });
    }
  });

  describe('logs (after every call above)', () => {
    it('never hold the token values (API logging and debug level on)', () => {
      expect(sc.output()).toContain('Enabled token authentication');
      expect(sc.output()).toContain('HTTP API Called');
      expect(sc.output()).not.toContain(TOKEN);
      expect(sc.output()).not.toContain(WRONG);
    });
  });
});
