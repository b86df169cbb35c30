// Pub/sub on the built sidecar with a gRPC app, driven by the real @dapr/dapr SDK: a DaprServer
// (gRPC, --app-protocol grpc: Dapr's AppCallback) subscribes, DaprClients over gRPC and HTTP
// publish (delivery cases in helpers/pubsub.ts), on pubsub.in-memory and on pubsub.redis when
// Redis answers. Also: GetMetadata's subscription list and the publish errors as gRPC statuses.
import type { DaprClient } from '@dapr/dapr';
import type GRPCClient from '@dapr/dapr/implementation/Client/GRPCClient/GRPCClient';
import { PubsubSubscriptionType } from '@dapr/dapr/proto/dapr/proto/runtime/v1/dapr_pb';
import { rejection } from '../helpers/lock-backends';
import { PUBSUB, PUBSUB_BACKENDS, pubsubRegistered, sdkDeliveryCases, sdkRoutePath, sharedBrokerCases } from '../helpers/pubsub';

const INVALID_ARGUMENT = 3;

interface ConnectLikeError {
  code?: number;
  rawMessage?: string;
  message: string;
}

/** The SDK's gRPC publish rejects with `{ error }` wrapping the ConnectError. */
async function publishError(p: Promise<unknown>): Promise<{ code?: number; message: string }> {
  const { error } = await rejection<{ error: ConnectLikeError }>(p);
  return { code: error.code, message: error.rawMessage ?? error.message };
}

/** GetMetadata through the SDK's own gRPC client (its metadata.get() leaves subscriptions out). */
async function grpcSubscriptions(client: DaprClient) {
  const grpc = await (client.daprClient as GRPCClient).getClient();
  return (await grpc.getMetadata({})).subscriptions;
}

for (const backend of PUBSUB_BACKENDS) {
  (pubsubRegistered(backend.type) ? describe : describe.skip)(`Dapr gRPC pub/sub via @dapr/dapr SDK on ${backend.type}`, () => {
    describe('DaprServer (gRPC app)', () => {
      sdkDeliveryCases({
        app: 'grpc',
        backend,
        extra: (ctx) => {
          it('GetMetadata through the SDK gRPC client lists the programmatic subscriptions with their rules, dead letter topic and metadata', async () => {
            const c = ctx();
            if (!c) return;
            expect((await c.clients.grpc.metadata.get()).id).toBe(c.appId);
            const subs = await grpcSubscriptions(c.clients.grpc);
            const t = c.topics.grpc;
            const byTopic = (topic: string) => subs.find((s) => s.topic === topic)!;
            expect(subs.every((s) => s.type === PubsubSubscriptionType.PROGRAMMATIC && s.pubsubName === PUBSUB)).toBe(true);
            expect(subs).toHaveLength(Object.keys(t).length * 2);
            expect(byTopic(t.routed).rules?.rules.map((r) => ({ match: r.match, path: r.path }))).toEqual([
              { match: 'event.type == "x"', path: sdkRoutePath(t.routed, 'x') },
              { match: '', path: sdkRoutePath(t.routed, 'd') },
            ]);
            expect(byTopic(t.drop).deadLetterTopic).toBe(t.dead);
            expect(byTopic(t.raw).metadata).toEqual({ rawPayload: 'true' });
            expect(byTopic(t.basic).rules?.rules.map((r) => r.path)).toEqual([sdkRoutePath(t.basic, 'default')]);
          });

          describe('publish errors as gRPC statuses; the sidecar serves on', () => {
            it('unknown pubsub: InvalidArgument "pubsub nope not found"', async () => {
              const c = ctx();
              if (!c) return;
              expect(await publishError(c.clients.grpc.pubsub.publish('nope', 't', { a: 1 }))).toEqual({ code: INVALID_ARGUMENT, message: 'pubsub nope not found' });
            });

            it('empty topic: InvalidArgument', async () => {
              const c = ctx();
              if (!c) return;
              expect(await publishError(c.clients.grpc.pubsub.publish(PUBSUB, '', { a: 1 }))).toEqual({ code: INVALID_ARGUMENT, message: `topic is empty in pubsub ${PUBSUB}` });
            });

            it('bad metadata rawPayload: InvalidArgument (ERR_PUBSUB_REQUEST_METADATA)', async () => {
              const c = ctx();
              if (!c) return;
              const e = await publishError(c.clients.grpc.pubsub.publish(PUBSUB, 't', { a: 1 }, { metadata: { rawPayload: 'maybe' } }));
              expect(e.code).toBe(INVALID_ARGUMENT);
              expect(e.message).toMatch(/^failed deserializing metadata/);
            });

            it('application/cloudevents+json that is not a CloudEvent object: InvalidArgument (ERR_PUBSUB_CLOUD_EVENTS_SER)', async () => {
              const c = ctx();
              if (!c) return;
              const e = await publishError(c.clients.grpc.pubsub.publish(PUBSUB, 't', '{"specversion": broken', { contentType: 'application/cloudevents+json' }));
              expect(e.code).toBe(INVALID_ARGUMENT);
              expect(e.message).toMatch(/^cannot create cloudevent/);
            });

            it('bulk publish with a duplicate entryId: InvalidArgument (ERR_PUBSUB_EVENTS_SER), every entry failed', async () => {
              const c = ctx();
              if (!c) return;
              const res = await c.clients.grpc.pubsub.publishBulk(PUBSUB, 't', [
                { entryID: 'same', event: { n: 1 } },
                { entryID: 'same', event: { n: 2 } },
              ]);
              expect(res.failedMessages).toHaveLength(2);
              const err = res.failedMessages[0]!.error as unknown as ConnectLikeError;
              expect(err.code).toBe(INVALID_ARGUMENT);
              expect(err.rawMessage).toMatch(/entryId is duplicated or not present/);
            });

            it('after the errors the sidecar still publishes and delivers', async () => {
              const c = ctx();
              if (!c) return;
              expect(await c.clients.grpc.pubsub.publish(PUBSUB, c.topics.grpc.basic, { after: 'errors' })).toEqual({});
              await c.inbox.waitFor(c.topics.grpc.basic, { after: 'errors' });
            });
          });
        },
      });
    });

    (backend.shared ? describe : describe.skip)('instances of one app id compete, app ids fan out (gRPC apps)', () => {
      sharedBrokerCases({ app: 'grpc', backend });
    });
  });
}
