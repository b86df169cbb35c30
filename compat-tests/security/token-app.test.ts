// APP_API_TOKEN on the built sidecar: every call the sidecar makes into its app carries it as
// dapr-api-token, so an app that checks it (the way an app should check calls that claim to come
// from its sidecar) serves them all: subscription discovery (GET /dapr/subscribe,
// ListTopicSubscriptions), pub/sub delivery, input bindings (the OPTIONS probe, the event;
// ListInputBindings/OnBindingEvent), invocation from this sidecar and through another one, app
// health probes, and gRPC proxying. Plain apps that refuse a missing or wrong token (HTTP 401, gRPC
// UNAUTHENTICATED), and the real @dapr/dapr DaprServer (which does not check, but shows the header
// to its handlers). The caller's DAPR_API_TOKEN never reaches the app.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CommunicationProtocolEnum, DaprServer, HttpMethod, LogLevel } from '@dapr/dapr';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { LOADER_OPTIONS } from '../../src/api/dapr-grpc/protos';
import { DAPR_APPCALLBACK_PROTO } from '../../src/app-channel/grpc';
import { echoClient, echoService, type Msg, metadata, unary } from '../../test/grpc-echo';
import { until } from '../../test/wait';
import { componentYaml, freePort, type Sidecar, startSidecar, waitHealthy } from '../helpers/sidecar';

/** A sidecar's health deadline: several starting at once on a busy machine can take longer than the helper's 20 s. */
const STARTUP_MS = 60_000;

const APP_TOKEN = `app-${randomBytes(12).toString('hex')}`;
const DAPR_TOKEN = `dapr-${randomBytes(12).toString('hex')}`;
const ENV = { APP_API_TOKEN: APP_TOKEN, DAPR_API_TOKEN: DAPR_TOKEN };

const RESOURCES = {
  'pubsub.yaml': componentYaml('pubsub', 'pubsub.in-memory'),
  'cron.yaml': componentYaml('cronb', 'bindings.cron', { schedule: '@every 1s' }),
};
const HEALTH_ARGS = ['--enable-app-health-check', '--app-health-probe-interval', '1', '--app-health-probe-timeout', '500'];

/** One call the app got: what it was, and whether it carried the app token. */
interface Seen {
  what: string;
  token: unknown;
}

const daprHttp = (sc: Sidecar, path: string, init: RequestInit = {}) =>
  fetch(`http://127.0.0.1:${sc.httpPort}${path}`, { ...init, headers: { 'dapr-api-token': DAPR_TOKEN, 'content-type': 'application/json', ...init.headers } });

/** A caller sidecar without an app (sidecar-to-sidecar invocation of `appId`). */
const callerSidecar = (appId: string) => startSidecar({ startupMs: STARTUP_MS, appId: `${appId}-caller`, layotto: false, env: { DAPR_API_TOKEN: DAPR_TOKEN } });

const accepted = (seen: Seen[]) => seen.filter((s) => s.token === APP_TOKEN).map((s) => s.what);

describe('APP_API_TOKEN: a plain HTTP app that refuses calls without it', () => {
  const APP = 'app-token-http';
  const seen: Seen[] = [];
  let server: Server;
  let sc: Sidecar;
  let caller: Sidecar;

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const what = `${req.method} ${req.url}`;
        seen.push({ what, token: req.headers['dapr-api-token'] });
        if (req.headers['dapr-api-token'] !== APP_TOKEN) return void res.writeHead(401).end('invalid app token');
        const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        if (what === 'GET /dapr/subscribe') return json(200, [{ pubsubname: 'pubsub', topic: 'orders', route: '/on-order' }]);
        if (what === 'POST /on-order') return json(200, { status: 'SUCCESS' });
        if (req.url === '/cronb') return json(200, {});
        if (what === 'GET /healthz') return json(200, {});
        if (what === 'POST /hello') return json(200, { hello: Buffer.concat(chunks).toString() });
        json(404, {});
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    sc = await startSidecar({ startupMs: STARTUP_MS, appId: APP, layotto: false, resources: RESOURCES, env: ENV, args: ['--app-port', String((server.address() as AddressInfo).port), ...HEALTH_ARGS] });
    caller = await callerSidecar(APP);
  }, 3 * STARTUP_MS);
  afterAll(async () => {
    await caller?.stop();
    await sc?.stop();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  });

  it('the sidecar read the subscriptions and turned healthy (GET /dapr/subscribe carried the token)', () => {
    expect(accepted(seen)).toContain('GET /dapr/subscribe');
  });

  it('invocation from this sidecar and through another one', async () => {
    for (const sidecar of [sc, caller]) {
      const res = await daprHttp(sidecar, `/v1.0/invoke/${APP}/method/hello`, { method: 'POST', body: 'hi' });
      expect([res.status, await res.json()]).toEqual([200, { hello: 'hi' }]);
    }
    expect(accepted(seen).filter((w) => w === 'POST /hello')).toHaveLength(2);
  });

  it('pub/sub delivery', async () => {
    expect((await daprHttp(sc, '/v1.0/publish/pubsub/orders', { method: 'POST', body: '{"n":1}' })).status).toBe(204);
    await until(() => accepted(seen).includes('POST /on-order'), () => JSON.stringify(seen));
  });

  it('input bindings: the OPTIONS probe and the events', async () => {
    await until(() => accepted(seen).includes('POST /cronb'), () => JSON.stringify(seen));
    expect(accepted(seen)).toContain('OPTIONS /cronb');
  });

  it('app health probes', async () => {
    await until(() => accepted(seen).includes('GET /healthz'), () => JSON.stringify(seen));
  });

  it('no call went without the app token, and none carried the caller’s DAPR_API_TOKEN', () => {
    expect(seen.filter((s) => s.token !== APP_TOKEN)).toEqual([]);
    expect(JSON.stringify(seen)).not.toContain(DAPR_TOKEN);
  });
});

describe('APP_API_TOKEN: a plain gRPC app that refuses calls without it', () => {
  const APP = 'app-token-grpc';
  const seen: Seen[] = [];
  let server: grpc.Server;
  let sc: Sidecar;
  let caller: Sidecar;

  beforeAll(async () => {
    const def = protoLoader.loadSync(DAPR_APPCALLBACK_PROTO, LOADER_OPTIONS);
    const service = (name: string) => def[`dapr.proto.runtime.v1.${name}`] as grpc.ServiceDefinition;
    type Call = { metadata: grpc.Metadata; request: unknown };
    /** Records the call; refuses it without the app token, else answers `answer(request)`. */
    const checked = (what: string, answer: (req: never) => unknown) => (call: Call, cb: grpc.sendUnaryData<unknown>) => {
      const token = call.metadata.get('dapr-api-token')[0];
      seen.push({ what, token });
      if (token !== APP_TOKEN) return cb({ code: grpc.status.UNAUTHENTICATED, details: 'invalid app token' });
      cb(null, answer(call.request as never));
    };
    server = new grpc.Server();
    server.addService(service('AppCallback'), {
      OnInvoke: checked('OnInvoke', (req: { method: string; data?: { value: Buffer } }) => ({ data: { type_url: '', value: Buffer.from(`${req.method}:${req.data?.value.toString() ?? ''}`) }, content_type: 'text/plain' })),
      ListTopicSubscriptions: checked('ListTopicSubscriptions', () => ({ subscriptions: [{ pubsub_name: 'pubsub', topic: 'orders' }] })),
      OnTopicEvent: checked('OnTopicEvent', () => ({ status: 'SUCCESS' })),
      ListInputBindings: checked('ListInputBindings', () => ({ bindings: ['cronb'] })),
      OnBindingEvent: checked('OnBindingEvent', () => ({})),
    });
    server.addService(service('AppCallbackHealthCheck'), { HealthCheck: checked('HealthCheck', () => ({})) });
    server.addService(echoService, { Unary: checked('Echo/Unary', (m: Msg) => ({ ...m, text: `echo:${m.text}` })) });
    const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    sc = await startSidecar({ startupMs: STARTUP_MS, appId: APP, layotto: false, resources: RESOURCES, env: ENV, args: ['--app-port', String(port), '--app-protocol', 'grpc', ...HEALTH_ARGS] });
    caller = await callerSidecar(APP);
  }, 3 * STARTUP_MS);
  afterAll(async () => {
    await caller?.stop();
    await sc?.stop();
    server?.forceShutdown();
  });

  it('the sidecar listed the subscriptions and input bindings with the token', async () => {
    await until(() => ['ListTopicSubscriptions', 'ListInputBindings'].every((w) => accepted(seen).includes(w)), () => JSON.stringify(seen));
  });

  it('invocation (OnInvoke) from this sidecar and through another one', async () => {
    for (const sidecar of [sc, caller]) {
      const res = await daprHttp(sidecar, `/v1.0/invoke/${APP}/method/hello`, { method: 'POST', body: 'hi' });
      expect([res.status, await res.text()]).toEqual([200, 'hello:hi']);
    }
    expect(accepted(seen).filter((w) => w === 'OnInvoke')).toHaveLength(2);
  });

  it('pub/sub delivery (OnTopicEvent), binding events (OnBindingEvent), health checks', async () => {
    expect((await daprHttp(sc, '/v1.0/publish/pubsub/orders', { method: 'POST', body: '{"n":1}' })).status).toBe(204);
    await until(() => ['OnTopicEvent', 'OnBindingEvent', 'HealthCheck'].every((w) => accepted(seen).includes(w)), () => JSON.stringify(seen));
  });

  it('proxied gRPC calls (dapr-app-id), from this sidecar and through another one: the app token replaces the caller’s', async () => {
    for (const sidecar of [sc, caller]) {
      const client = echoClient(sidecar.grpcPort);
      try {
        const r = await unary(client, { text: 'p' }, metadata([['dapr-app-id', APP], ['dapr-api-token', DAPR_TOKEN]]));
        expect(r.err).toBeNull();
        expect(r.res?.text).toBe('echo:p');
      } finally {
        client.close();
      }
    }
    expect(accepted(seen).filter((w) => w === 'Echo/Unary')).toHaveLength(2);
  });

  it('no call went without the app token, and none carried the caller’s DAPR_API_TOKEN', () => {
    expect(seen.filter((s) => s.token !== APP_TOKEN)).toEqual([]);
    expect(JSON.stringify(seen)).not.toContain(DAPR_TOKEN);
  });
});

describe('APP_API_TOKEN with the real @dapr/dapr DaprServer', () => {
  const silent = () => undefined;
  const logger = { level: LogLevel.Error, service: { error: silent, warn: silent, info: silent, verbose: silent, debug: silent } };

  for (const protocol of ['http', 'grpc'] as const) {
    it(`${protocol} app: its handlers see the app token on deliveries${protocol === 'http' ? ' and invocations' : ''}`, async () => {
      const APP = `app-token-sdk-${protocol}`;
      const appPort = await freePort();
      const sc = await startSidecar({ startupMs: STARTUP_MS, appId: APP, layotto: false, resources: RESOURCES, env: ENV, wait: false, args: ['--app-port', String(appPort), '--app-protocol', protocol] });
      const comm = protocol === 'grpc' ? CommunicationProtocolEnum.GRPC : CommunicationProtocolEnum.HTTP;
      const server = new DaprServer({
        serverHost: '127.0.0.1',
        serverPort: String(appPort),
        communicationProtocol: comm,
        clientOptions: { daprHost: '127.0.0.1', daprPort: String(protocol === 'grpc' ? sc.grpcPort : sc.httpPort), communicationProtocol: comm, daprApiToken: DAPR_TOKEN, logger },
        logger,
      });
      const tokens: { what: string; token: unknown }[] = [];
      try {
        await server.pubsub.subscribe('pubsub', 'orders', async (_data: unknown, headers: object) => {
          tokens.push({ what: 'delivery', token: (headers as Record<string, unknown>)['dapr-api-token'] });
        });
        if (protocol === 'http') {
          await server.invoker.listen('hello', async (d) => {
            tokens.push({ what: 'invoke', token: (d.headers as Record<string, unknown> | undefined)?.['dapr-api-token'] });
            return { ok: true };
          }, { method: HttpMethod.POST });
        }
        await server.start();
        await waitHealthy(sc, STARTUP_MS);
        await server.client.pubsub.publish('pubsub', 'orders', { n: 1 });
        if (protocol === 'http') expect(await server.client.invoker.invoke(APP, 'hello', HttpMethod.POST, {})).toEqual({ ok: true });
        await until(() => tokens.some((t) => t.what === 'delivery'), () => JSON.stringify(tokens));
        expect(tokens.every((t) => t.token === APP_TOKEN)).toBe(true);
        expect(tokens.map((t) => t.what).sort()).toEqual(protocol === 'http' ? ['delivery', 'invoke'] : ['delivery']);
      } finally {
        await sc.stop();
        await server.stop().catch(() => undefined);
        await server.client.stop().catch(() => undefined);
      }
    }, 2 * STARTUP_MS);
  }
});
