// Pub/sub rpcs of spec.proto.runtime.v1.Runtime: PublishEvent and the streaming
// SubscribeTopicEvents (events as Layotto's TopicEventRequest, broker metadata in `metadata`).
import type * as grpc from '@grpc/grpc-js';
import { layottoTopicEventRequest } from '../../app-channel/grpc-messages';
import type { PubSubCore } from '../../core/pubsub';
import { toLayottoGrpc } from '../../errors/to-grpc';
import { publishHandlers, streamingSubscribeHandler } from '../grpc/pubsub';
import { unary } from './handlers';

export function pubsubHandlers(pubsub: PubSubCore): grpc.UntypedServiceImplementation {
  return {
    ...publishHandlers(pubsub, unary),
    SubscribeTopicEvents: streamingSubscribeHandler(pubsub, toLayottoGrpc, (ev, id) => ({ ...layottoTopicEventRequest(ev), id })),
  };
}
