// Pub/sub rpcs of dapr.proto.runtime.v1.Dapr: PublishEvent, BulkPublishEvent(Alpha1) and the
// streaming SubscribeTopicEventsAlpha1 (events as appcallback TopicEventRequests).
import type * as grpc from '@grpc/grpc-js';
import { daprTopicEventRequest } from '../../app-channel/grpc-messages';
import type { PubSubCore } from '../../core/pubsub';
import { toGrpc } from '../../errors/to-grpc';
import { bulkPublishHandler, publishHandlers, streamingSubscribeHandler } from '../grpc/pubsub';
import { unary } from './handlers';

export function pubsubHandlers(pubsub: PubSubCore): grpc.UntypedServiceImplementation {
  const bulk = bulkPublishHandler(pubsub, unary);
  return {
    ...publishHandlers(pubsub, unary),
    BulkPublishEventAlpha1: bulk,
    BulkPublishEvent: bulk,
    SubscribeTopicEventsAlpha1: streamingSubscribeHandler(pubsub, toGrpc, (ev, id) => ({ ...daprTopicEventRequest(ev), id })),
  };
}
