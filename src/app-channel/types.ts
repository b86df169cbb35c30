// The app channel: how the sidecar calls the app (daprd's pkg/channel). One implementation per
// app protocol (HTTP via undici, gRPC via Dapr's AppCallback or Layotto's AppCallback); the core
// sees only this interface, never a protocol.
import type { Invoker } from '../core/invoke/types';

/** A subscription the app declared (GET /dapr/subscribe, ListTopicSubscriptions). */
export interface AppSubscription {
  pubsubName: string;
  topic: string;
  metadata: Record<string, string>;
  /** Routing rules in order; `match` is a CEL expression ('' = catch-all). */
  rules: { match: string; path: string }[];
  /**
   * Route when no rule matches; '' = none (HTTP: `routes.default`, else the v1 `route`; Dapr gRPC:
   * `routes.default`). A gRPC app that gives no routes (and every Layotto app) gets one catch-all
   * rule with path '', as in daprd's parseRoutingRulesGRPC.
   */
  defaultRoute: string;
  deadLetterTopic: string;
  bulkSubscribe?: { enabled: boolean; maxMessagesCount: number; maxAwaitDurationMs: number };
}

/** The app's answer for one event: ack (SUCCESS), redeliver (RETRY), ack + dead-letter (DROP). */
export type AppEventStatus = 'SUCCESS' | 'RETRY' | 'DROP';

/** A CloudEvent on its way to the app (after the runtime decoded and routed it). */
export interface AppTopicEvent {
  /** The decoded CloudEvent JSON object (what HTTP apps receive as the body). */
  cloudEvent: Record<string, unknown>;
  /** The event's data as bytes for gRPC apps (data_base64 decoded, JSON data re-marshalled, string as UTF-8). */
  data: Buffer;
  /**
   * The CloudEvent's JSON exactly as the broker delivered it, sent as the HTTP body in place of
   * JSON.stringify(cloudEvent): re-serializing would round big integers (Go keeps their digits).
   * Unset for raw payloads, whose envelope is synthetic.
   */
  body?: Buffer;
  pubsubName: string;
  topic: string;
  /** Route chosen by the rules (HTTP: the path to POST to; gRPC: TopicEventRequest.path). */
  path: string;
  /** Broker metadata; HTTP: sent as headers; gRPC: TopicEventRequest metadata/extensions. */
  metadata: Record<string, string>;
  /** The delivery span's trace context (tracing on), sent in place of the one the CloudEvent carries. */
  trace?: { traceparent: string; tracestate?: string };
}

export interface AppBulkEntry {
  entryId: string;
  /** The CloudEvent object, or for raw payloads the bytes. */
  event: Record<string, unknown> | Buffer;
  contentType: string;
  metadata: Record<string, string>;
}

export interface AppBulkEvent {
  id: string;
  pubsubName: string;
  topic: string;
  path: string;
  metadata: Record<string, string>;
  entries: AppBulkEntry[];
}

/** An input-binding event on its way to the app. */
export interface AppBindingEvent {
  /** The binding's component name (gRPC BindingEventRequest.name). */
  name: string;
  /** HTTP: the path POSTed to (the manifest's `route` metadata, else the name). */
  route: string;
  data: Buffer;
  /** The component's event metadata; HTTP: headers, gRPC: BindingEventRequest.metadata. */
  metadata: Record<string, string>;
}

/** One state the app asked to save in its answer to a binding event. */
export interface AppBindingState {
  key: string;
  /** The bytes to store (HTTP: the item's JSON `value` re-encoded; gRPC: StateItem.value). */
  value: Buffer;
  etag?: string;
  metadata: Record<string, string>;
  options?: { concurrency?: string; consistency?: string };
  /** application/json for HTTP answers (the value is JSON), unset for gRPC bytes. */
  contentType?: string;
}

/** The app's answer to a binding event (components-contrib's bindings.AppResponse, plus the raw body). */
export interface AppBindingReply {
  /** Handed back to the component (HTTP: the response body; gRPC: BindingEventResponse.data). */
  body: Buffer;
  /** Where `states` go. */
  storeName: string;
  states: AppBindingState[];
  /** Output bindings that get `data` with operation create. */
  to: string[];
  /** The JSON bytes sent to the bindings in `to`. */
  data: Buffer;
  concurrency: 'sequential' | 'parallel';
}

/**
 * The app channel. As an Invoker it is service invocation's local target: HTTP apps get the
 * request as it came (verb, path, query, headers, streamed body), gRPC apps AppCallback.OnInvoke.
 */
export interface AppChannel extends Invoker {
  /** 'http' | 'grpc' (Dapr AppCallback) | 'layotto' (spec.proto.runtime.v1.AppCallback). */
  readonly kind: string;
  /**
   * The app's programmatic subscriptions. Rejects when the app cannot be reached (the caller
   * retries); an app without a subscription endpoint (HTTP 404, gRPC UNIMPLEMENTED) gives [].
   */
  listSubscriptions(): Promise<AppSubscription[]>;
  /**
   * Delivers one event. Resolves with the app's status by daprd's contract (HTTP: 2xx+SUCCESS/
   * empty/non-JSON → SUCCESS, RETRY, DROP, unknown status → RETRY, 404 → DROP, other status →
   * RETRY; gRPC: the status enum, UNIMPLEMENTED → DROP). Rejects only for transport failures
   * (connection refused, timeout), which the caller treats as RETRY.
   */
  deliverEvent(ev: AppTopicEvent): Promise<AppEventStatus>;
  /** Delivers a bulk event; statuses by entry id (a missing entry counts as RETRY). */
  deliverBulk(ev: AppBulkEvent): Promise<Map<string, AppEventStatus>>;
  /**
   * Whether the app takes events of an input binding. HTTP: `OPTIONS /<route>` answered 2xx or 405
   * (rejects when the app cannot be reached); gRPC: the name is among ListInputBindings' answer
   * (asked once; an app without the rpc, Layotto's included, listens to none).
   */
  listensToBinding(name: string, route: string): Promise<boolean>;
  /**
   * Delivers one input-binding event. Resolves with the app's answer when it accepted the event
   * (HTTP 2xx; gRPC OK); rejects otherwise, so the component delivers it again.
   */
  deliverBindingEvent(ev: AppBindingEvent): Promise<AppBindingReply>;
  /**
   * One health probe (--enable-app-health-check): HTTP GET of the health check path answering 2xx,
   * gRPC AppCallbackHealthCheck.HealthCheck answering OK. Resolves false for any failure.
   */
  probeHealth(signal: AbortSignal): Promise<boolean>;
  close(): Promise<void>;
}

export interface AppChannelOptions {
  address: string;
  port: number;
  /** --app-protocol: http, https, h2c, grpc, grpcs. */
  protocol: string;
  appId: string;
  /** --app-max-concurrency: at most this many calls into the app at once (-1/0/undefined = no cap). */
  maxConcurrency?: number;
  /** APP_API_TOKEN: sent to the app as dapr-api-token. */
  appApiToken?: string;
  /** --max-body-size: the largest gRPC message to or from the app (grpc-js's own default otherwise). */
  maxBodySize?: number;
  /** --app-health-check-path for HTTP apps (default /healthz). */
  healthCheckPath?: string;
}
