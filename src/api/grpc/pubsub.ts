// Pub/sub rpcs for both gRPC faces. PublishEvent and the streaming subscription have the same
// fields on Dapr's and Layotto's protos; each face passes its `unary`/`toStatus` (its error
// mapping) and how it writes an event (Dapr's TopicEventRequest has path/extensions, Layotto's
// metadata). Trace context comes from the call's traceparent/tracestate metadata.
import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { AppEventStatus, AppTopicEvent } from '../../app-channel/types';
import type { PubSubCore } from '../../core/pubsub';
import { RuntimeError } from '../../errors/runtime-error';
import type { ToStatus, unaryWith } from './handlers';

type StringMap = Record<string, string>;

export interface PublishEventRequest {
  pubsub_name: string;
  topic: string;
  data: Buffer;
  data_content_type: string;
  metadata: StringMap;
}

interface BulkPublishRequest {
  pubsub_name: string;
  topic: string;
  entries: { entry_id: string; event: Buffer; content_type: string; metadata: StringMap }[];
  metadata: StringMap;
}

export function traceOf(call: { metadata: grpc.Metadata }): { traceparent?: string; tracestate?: string } {
  const get = (k: string) => {
    const v = call.metadata.get(k)[0];
    return typeof v === 'string' && v ? v : undefined;
  };
  return { traceparent: get('traceparent'), tracestate: get('tracestate') };
}

export function publishHandlers(pubsub: PubSubCore, unary: ReturnType<typeof unaryWith>, opts: { source?: string } = {}): grpc.UntypedServiceImplementation {
  return {
    PublishEvent: unary(async (req: PublishEventRequest, call): Promise<object> => {
      await pubsub.publisher.publish(
        { pubsubName: req.pubsub_name, topic: req.topic, data: req.data, contentType: req.data_content_type, metadata: req.metadata, ...traceOf(call) },
        opts,
      );
      return {};
    }),
  };
}

/** Dapr's bulk publish: input errors are statuses; broker failures come back as failed entries with OK. */
export function bulkPublishHandler(pubsub: PubSubCore, unary: ReturnType<typeof unaryWith>): grpc.handleUnaryCall<BulkPublishRequest, object> {
  return unary(async (req: BulkPublishRequest, call) => {
    const res = await pubsub.publisher.bulkPublish({
      pubsubName: req.pubsub_name,
      topic: req.topic,
      metadata: req.metadata,
      entries: req.entries.map((e) => ({ entryId: e.entry_id, event: e.event, contentType: e.content_type, metadata: e.metadata })),
      ...traceOf(call),
    });
    return { failedEntries: res.failedEntries.map((f) => ({ entry_id: f.entryId, error: f.error })) };
  });
}

interface StreamRequest {
  initial_request?: { pubsub_name: string; topic: string; metadata: StringMap; dead_letter_topic?: string } | null;
  event_processed?: { id: string; status?: { status: string | number } | null } | null;
}

const STATUSES: AppEventStatus[] = ['SUCCESS', 'RETRY', 'DROP'];
const statusOf = (s: string | number | undefined): AppEventStatus => (typeof s === 'number' ? (STATUSES[s] ?? 'RETRY') : STATUSES.includes(s as AppEventStatus) ? (s as AppEventStatus) : 'SUCCESS');

/**
 * The bidirectional streaming subscription: the first message must be initial_request; the server
 * answers initial_response, then writes event_message per event and waits for the client's
 * event_processed with that id. Cancel/EOF unsubscribes; events not acknowledged are redelivered.
 * A pub/sub removed by hot reload ends the call with its not-found error.
 */
export function streamingSubscribeHandler(pubsub: PubSubCore, toStatus: ToStatus, eventMessage: (ev: AppTopicEvent, id: string) => object): grpc.handleBidiStreamingCall<StreamRequest, object> {
  return (call) => {
    let stop: (() => Promise<void>) | undefined;
    let started = false;
    let ended = false;
    const waiting = new Map<string, (s: AppEventStatus) => void>();
    const end = (err?: unknown) => {
      if (ended) return;
      ended = true;
      for (const settle of waiting.values()) settle('RETRY');
      waiting.clear();
      void stop?.();
      try {
        if (err) call.emit('error', toStatus(err));
        else call.end();
      } catch {
        // the call is gone
      }
    };
    const deliver = (ev: AppTopicEvent): Promise<AppEventStatus> =>
      new Promise((resolve) => {
        if (ended) return resolve('RETRY');
        // The CloudEvent id may repeat on redelivery; each delivery waits on its own key.
        const id = String(ev.cloudEvent.id ?? randomUUID());
        const key = waiting.has(id) ? `${id}#${randomUUID()}` : id;
        waiting.set(key, resolve);
        call.write({ event_message: eventMessage(ev, key) });
      });

    call.on('data', (msg: StreamRequest) => {
      if (ended) return;
      if (!started) {
        const init = msg.initial_request;
        if (!init) return end(new RuntimeError('PUBSUB_STREAM', 'initial request is required'));
        started = true;
        pubsub.subscriber
          .subscribeStream(
            { pubsubName: init.pubsub_name, topic: init.topic, metadata: init.metadata ?? {}, rules: [{ match: '', path: '' }], defaultRoute: '', deadLetterTopic: init.dead_letter_topic ?? '' },
            deliver,
            end, // the sidecar ends it when hot reload removes the pubsub
          )
          .then(
            (stopper) => {
              stop = stopper;
              if (ended) void stopper();
              else call.write({ initial_response: {} });
            },
            (e: unknown) => end(e),
          );
        return;
      }
      const done = msg.event_processed;
      if (!done) return end(new RuntimeError('PUBSUB_STREAM', 'expected an event_processed message after the initial request'));
      const settle = waiting.get(done.id);
      if (!settle) return; // an unknown or late ack: nothing waits for it
      waiting.delete(done.id);
      settle(statusOf(done.status?.status));
    });
    call.on('end', () => end());
    call.on('cancelled', () => end());
    call.on('error', () => end());
  };
}
