// Pub/sub on the built sidecar with an HTTP app, driven by the real @dapr/dapr SDK: a DaprServer
// (HTTP, --app-protocol http) subscribes, DaprClients over HTTP and gRPC publish (delivery cases in
// helpers/pubsub.ts), on pubsub.in-memory and on pubsub.redis when Redis answers. Raw HTTP covers
// what the SDK hides: the metadata listing, publish errors, the exact CloudEvent an app receives
// (a plain node:http app), declarative Subscription resources, and an app that misbehaves.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { post, uniqueRun } from '../helpers/lock-backends';
import {
  httpSubscriptions,
  PUBSUB,
  PUBSUB_BACKENDS,
  publishHttp,
  pubsubRegistered,
  pubsubYaml,
  sdkClient,
  sdkDeliveryCases,
  sdkRoutePath,
  sharedBrokerCases,
  until,
} from '../helpers/pubsub';
import { type Sidecar, startSidecar, waitHealthy } from '../helpers/sidecar';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TRACEPARENT = /^00-([0-9a-f]{32})-[0-9a-f]{16}-0[01]$/;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

/** A publish the sidecar refuses: its status and error body. */
async function refused(p: Promise<{ status: number; text: string }>): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await p;
  return { status: r.status, body: JSON.parse(r.text) as Record<string, unknown> };
}

for (const backend of PUBSUB_BACKENDS) {
  (pubsubRegistered(backend.type) ? describe : describe.skip)(`Dapr HTTP pub/sub via @dapr/dapr SDK on ${backend.type}`, () => {
    describe('DaprServer (HTTP app)', () => {
      sdkDeliveryCases({
        app: 'http',
        backend,
        extra: (ctx) => {
          it('GET /v1.0/metadata lists the programmatic subscriptions with their rules, dead letter topic and metadata', async () => {
            const c = ctx();
            if (!c) return;
            const subs = await httpSubscriptions(c.app.sc);
            const t = c.topics.http;
            const byTopic = (topic: string) => subs.find((s) => s.topic === topic);
            expect(subs.every((s) => s.type === 'PROGRAMMATIC' && s.pubsubname === PUBSUB)).toBe(true);
            expect(subs).toHaveLength(Object.keys(t).length * 2);
            expect(byTopic(t.routed)).toEqual({
              pubsubname: PUBSUB,
              topic: t.routed,
              rules: [{ match: 'event.type == "x"', path: sdkRoutePath(t.routed, 'x') }, { path: sdkRoutePath(t.routed, 'd') }],
              type: 'PROGRAMMATIC',
            });
            expect(byTopic(t.drop)).toMatchObject({ deadLetterTopic: t.dead, rules: [{ path: sdkRoutePath(t.drop, 'default') }] });
            expect(byTopic(t.raw)).toMatchObject({ metadata: { rawPayload: 'true' } });
          });

          describe('publish errors (SDK and raw HTTP); the sidecar serves on', () => {
            it('unknown pubsub: 404 ERR_PUBSUB_NOT_FOUND', async () => {
              const c = ctx();
              if (!c) return;
              const res = await c.clients.http.pubsub.publish('nope', 't', { a: 1 });
              expect(String((res.error as Error | undefined)?.message)).toContain('ERR_PUBSUB_NOT_FOUND');
              const r = await refused(publishHttp(c.app.sc, 'nope', 't', '{}'));
              expect(r).toEqual({ status: 404, body: expect.objectContaining({ errorCode: 'ERR_PUBSUB_NOT_FOUND', message: 'pubsub nope not found' }) });
            });

            it('empty topic: 404 ERR_TOPIC_NAME_EMPTY', async () => {
              const c = ctx();
              if (!c) return;
              const empty = { status: 404, body: expect.objectContaining({ errorCode: 'ERR_TOPIC_NAME_EMPTY', message: `topic is empty in pubsub ${PUBSUB}` }) };
              const res = await c.clients.http.pubsub.publish(PUBSUB, '', { a: 1 });
              expect(String((res.error as Error | undefined)?.message)).toContain('ERR_TOPIC_NAME_EMPTY');
              expect(await refused(publishHttp(c.app.sc, PUBSUB, '', '{}'))).toEqual(empty);
              expect(await post(c.app.sc.httpPort, `/v1.0-alpha1/publish/bulk/${PUBSUB}/`, [])).toEqual(empty);
              // Without the slash it is no publish route: daprd's fallback is service invocation.
              expect((await post(c.app.sc.httpPort, `/v1.0/publish/${PUBSUB}`, {})).body).toMatchObject({ errorCode: 'ERR_DIRECT_INVOKE' });
            });

            it('bad metadata.rawPayload: 400 ERR_PUBSUB_REQUEST_METADATA', async () => {
              const c = ctx();
              if (!c) return;
              const res = await c.clients.http.pubsub.publish(PUBSUB, 't', { a: 1 }, { metadata: { rawPayload: 'maybe' } });
              expect(String((res.error as Error | undefined)?.message)).toContain('ERR_PUBSUB_REQUEST_METADATA');
              const r = await refused(publishHttp(c.app.sc, PUBSUB, 't', '{}', { metadata: { rawPayload: 'maybe' } }));
              expect(r).toEqual({ status: 400, body: expect.objectContaining({ errorCode: 'ERR_PUBSUB_REQUEST_METADATA' }) });
            });

            it('application/cloudevents+json with a broken body: 500 ERR_PUBSUB_CLOUD_EVENTS_SER', async () => {
              const c = ctx();
              if (!c) return;
              const r = await refused(publishHttp(c.app.sc, PUBSUB, 't', '{"specversion": "1.0", broken', { contentType: 'application/cloudevents+json' }));
              expect(r).toEqual({ status: 500, body: expect.objectContaining({ errorCode: 'ERR_PUBSUB_CLOUD_EVENTS_SER' }) });
            });

            it('bulk publish with a duplicate entryId: 400 ERR_PUBSUB_EVENTS_SER', async () => {
              const c = ctx();
              if (!c) return;
              const dup = [
                { entryID: 'same', event: { n: 1 } },
                { entryID: 'same', event: { n: 2 } },
              ];
              const res = await c.clients.http.pubsub.publishBulk(PUBSUB, 't', dup);
              expect(res.failedMessages).toHaveLength(2);
              expect(String(res.failedMessages[0]!.error?.message)).toContain('ERR_PUBSUB_EVENTS_SER');
              const r = await post(c.app.sc.httpPort, `/v1.0-alpha1/publish/bulk/${PUBSUB}/t`, dup.map((d) => ({ entryId: d.entryID, event: d.event, contentType: 'application/json' })));
              expect(r).toEqual({ status: 400, body: expect.objectContaining({ errorCode: 'ERR_PUBSUB_EVENTS_SER' }) });
            });

            it('after the errors the sidecar still publishes and delivers', async () => {
              const c = ctx();
              if (!c) return;
              expect(await c.clients.http.pubsub.publish(PUBSUB, c.topics.http.basic, { after: 'errors' })).toEqual({});
              await c.inbox.waitFor(c.topics.http.basic, { after: 'errors' });
            });
          });
        },
      });
    });

    describe('a plain node:http app', () => {
      const run = uniqueRun();
      const appId = `ps-plain-${run}`;
      const t = (name: string) => `compat-ps-${run}-plain-${name}`;
      const topics = { envelope: t('envelope'), decl: t('decl'), replaced: t('replaced'), e500: t('e500'), badJson: t('badjson'), hang: t('hang'), after: t('after') };
      const received: { path: string; headers: IncomingMessage['headers']; body: Record<string, unknown>; raw: string }[] = [];
      const hung: ServerResponse[] = [];
      let server: Server;
      let sc: Sidecar;
      let enabled = false;

      const at = (path: string) => received.filter((r) => r.path === path);
      const dataAt = (path: string) => at(path).map((r) => r.body.data);
      const nth = (path: string, data: unknown) => dataAt(path).filter((d) => JSON.stringify(d) === JSON.stringify(data)).length;
      const arrived = (path: string, data: unknown, times = 1) =>
        until(() => nth(path, data) >= times, () => `${JSON.stringify(data)} ${times}x at ${path}, got ${JSON.stringify(dataAt(path))}`);

      const programmatic = [
        { pubsubname: PUBSUB, topic: topics.envelope, route: '/envelope' },
        { pubsubname: PUBSUB, topic: topics.replaced, route: '/prog' },
        { pubsubname: PUBSUB, topic: topics.e500, route: '/e500' },
        { pubsubname: PUBSUB, topic: topics.badJson, route: '/badjson' },
        { pubsubname: PUBSUB, topic: topics.hang, route: '/hang' },
        { pubsubname: PUBSUB, topic: topics.after, route: '/after' },
      ];

      const declarative = (topic: string, routes: string) =>
        `apiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata:\n  name: sub-${topic}\nspec:\n  pubsubname: ${PUBSUB}\n  topic: ${topic}\n  routes:\n${routes}\nscopes:\n  - ${appId}\n`;

      /** Answers by path; a "barrier" event (see helpers) gets 500 twice, then 200. */
      function answer(path: string, body: Record<string, unknown>, res: ServerResponse): void {
        const isBarrier = JSON.stringify(body.data) === JSON.stringify({ kind: 'barrier' });
        if (path === '/hang') return void hung.push(res);
        if (path === '/e500' && nth(path, body.data) === 1) return void res.writeHead(500).end('boom');
        if (isBarrier && nth(path, body.data) <= 2) return void res.writeHead(500).end();
        if (path === '/badjson') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status": not json');
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"SUCCESS"}');
      }

      beforeAll(async () => {
        enabled = await backend.reachable();
        if (!enabled) return;
        server = createServer((req, res) => {
          let raw = '';
          req.on('data', (d: Buffer) => (raw += d.toString('utf8')));
          req.on('end', () => {
            const path = req.url ?? '';
            if (req.method === 'GET' && path === '/dapr/subscribe') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(programmatic));
            const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
            received.push({ path, headers: req.headers, body, raw });
            answer(path, body, res);
          });
        });
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
        const appPort = (server.address() as AddressInfo).port;
        sc = await startSidecar({
          appId,
          resources: {
            'pubsub.yaml': pubsubYaml(backend),
            'subscriptions.yaml': [
              declarative(topics.decl, `    rules:\n      - match: event.type == "decl.x"\n        path: /decl-x\n    default: /decl-d`),
              declarative(topics.replaced, `    default: /decl-replaced`),
            ].join('---\n'),
          },
          args: ['--app-port', String(appPort), '--app-protocol', 'http', '--dapr-graceful-shutdown-seconds', '1'],
        });
      });

      afterAll(async () => {
        if (!enabled) return;
        for (const res of hung) res.writeHead(200).end();
        await sc.stop();
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
      });

      const it_ = (name: string, fn: () => Promise<void>) => it(name, async () => (enabled ? fn() : undefined));

      it_('receives the CloudEvent envelope daprd builds: id, source = app id, type, specversion, datacontenttype, topic, pubsubname, traceparent, time', async () => {
        const client = sdkClient(sc, 'http');
        try {
          const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
          const before = Date.now();
          await publishHttp(sc, PUBSUB, topics.envelope, '{"order":42,"big":12345678901234567890}', { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
          expect(await client.pubsub.publish(PUBSUB, topics.envelope, 'hello text')).toEqual({});
          await until(() => at('/envelope').length >= 2, () => `2 events at /envelope, got ${at('/envelope').length}`);
          const [json, text] = [at('/envelope').find((r) => typeof r.body.data === 'object')!, at('/envelope').find((r) => typeof r.body.data === 'string')!];
          expect(json.body).toEqual({
            id: expect.stringMatching(UUID),
            source: appId,
            type: 'com.dapr.event.sent',
            specversion: '1.0',
            datacontenttype: 'application/json',
            topic: topics.envelope,
            pubsubname: PUBSUB,
            traceid: json.body.traceparent,
            traceparent: expect.stringMatching(TRACEPARENT),
            tracestate: '',
            time: expect.stringMatching(RFC3339),
            data: expect.objectContaining({ order: 42 }),
          });
          // JSON data is spliced in as the publisher's text: big numbers keep their digits.
          expect(json.raw).toContain('"data":{"order":42,"big":12345678901234567890}');
          expect(TRACEPARENT.exec(String(json.body.traceparent))![1]).toBe(traceId);
          expect(Date.parse(String(json.body.time))).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
          expect(json.headers).toMatchObject({ 'content-type': 'application/cloudevents+json', pubsubname: PUBSUB, traceparent: json.body.traceparent });
          expect(text.body).toMatchObject({ source: appId, datacontenttype: 'text/plain', data: 'hello text', topic: topics.envelope, pubsubname: PUBSUB });
          expect(text.body.id).not.toBe(json.body.id);
        } finally {
          await client.stop();
        }
      });

      it_('a declarative v2alpha1 Subscription is listed as DECLARATIVE and its routes deliver to the app', async () => {
        const subs = await httpSubscriptions(sc);
        expect(subs.find((s) => s.topic === topics.decl)).toEqual({
          pubsubname: PUBSUB,
          topic: topics.decl,
          rules: [{ match: 'event.type == "decl.x"', path: '/decl-x' }, { path: '/decl-d' }],
          type: 'DECLARATIVE',
        });
        await publishHttp(sc, PUBSUB, topics.decl, '{"to":"x"}', { metadata: { 'cloudevent.type': 'decl.x' } });
        await publishHttp(sc, PUBSUB, topics.decl, '{"to":"default"}');
        await arrived('/decl-x', { to: 'x' });
        await arrived('/decl-d', { to: 'default' });
      });

      it_('a programmatic subscription for the same topic replaces the declarative one', async () => {
        const subs = (await httpSubscriptions(sc)).filter((s) => s.topic === topics.replaced);
        expect(subs).toEqual([{ pubsubname: PUBSUB, topic: topics.replaced, rules: [{ path: '/prog' }], type: 'PROGRAMMATIC' }]);
        await publishHttp(sc, PUBSUB, topics.replaced, '{"who":"programmatic"}');
        await arrived('/prog', { who: 'programmatic' });
        expect(at('/decl-replaced')).toHaveLength(0);
      });

      it_('an HTTP 500 from the app is redelivered', async () => {
        await publishHttp(sc, PUBSUB, topics.e500, '{"fails":"once"}');
        await arrived('/e500', { fails: 'once' }, 2);
      });

      it_('200 with a body that is not JSON counts as SUCCESS: not redelivered', async () => {
        await publishHttp(sc, PUBSUB, topics.badJson, '{"answer":"garbage"}');
        await arrived('/badjson', { answer: 'garbage' });
        await publishHttp(sc, PUBSUB, topics.badJson, '{"kind":"barrier"}');
        await arrived('/badjson', { kind: 'barrier' }, 3);
        expect(nth('/badjson', { answer: 'garbage' })).toBe(1);
      });

      it_('an app that never answers does not stop the sidecar: it stays healthy and delivers other events', async () => {
        await publishHttp(sc, PUBSUB, topics.hang, '{"hangs":true}');
        await arrived('/hang', { hangs: true });
        await publishHttp(sc, PUBSUB, topics.after, '{"still":"serving"}');
        await arrived('/after', { still: 'serving' });
        await waitHealthy(sc);
        expect(sc.proc.exitCode).toBeNull();
      });
    });

    (backend.shared ? describe : describe.skip)('instances of one app id compete, app ids fan out (HTTP apps)', () => {
      sharedBrokerCases({ app: 'http', backend });
    });
  });
}
