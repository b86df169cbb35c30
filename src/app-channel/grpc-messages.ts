// The gRPC app-callback messages, as plain objects for @grpc/proto-loader (snake_case field names,
// as both proto loaders in this repo use keepCase). Dapr's follow daprd's
// pkg/runtime/pubsub GRPCEnvelopeFromSubscriptionMessage / FetchEntry; Layotto's are the subset
// Layotto's TopicEventRequest has (no path, no extensions; the broker metadata in `metadata`).
import type { AppBulkEntry, AppBulkEvent, AppEventStatus, AppSubscription, AppTopicEvent } from './types';

type Json = Record<string, unknown>;

/** Every subscription of a gRPC app has at least one rule: no routes means "everything, path ''". */
const CATCH_ALL = () => [{ match: '', path: '' }];

/** CloudEvent attributes that have their own TopicEventRequest field (daprd cloudEventDuplicateKeys). */
const OWN_FIELDS = new Set(['id', 'source', 'datacontenttype', 'type', 'specversion', 'data', 'data_base64']);

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/**
 * A JSON value as google.protobuf.Value (what protojson makes of daprd's json.Marshal output). The
 * field names are camelCase even with keepCase: proto-loader takes google/protobuf/struct.proto from
 * protobufjs's bundled descriptors, which spell them so; snake_case names serialize as an empty Value.
 */
function toValue(v: unknown): Json {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  switch (typeof v) {
    case 'string':
      return { stringValue: v };
    case 'number':
      return { numberValue: v };
    case 'bigint':
      return { numberValue: Number(v) };
    case 'boolean':
      return { boolValue: v };
    default:
      if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
      if (Buffer.isBuffer(v)) return { stringValue: v.toString('base64') }; // as json.Marshal writes []byte
      if (typeof v === 'object') return { structValue: toStruct(v as Json) };
      return { nullValue: 'NULL_VALUE' };
  }
}

export function toStruct(obj: Json): Json {
  const fields: Record<string, Json> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) fields[k] = toValue(v);
  return { fields };
}

/** The CloudEvent's extension attributes (everything but the fields the request carries itself). */
export function extensionsOf(ce: Json): Json {
  const rest: Json = {};
  for (const [k, v] of Object.entries(ce)) if (!OWN_FIELDS.has(k)) rest[k] = v;
  return toStruct(rest);
}

/** id, source, type, spec_version and data_content_type: string attributes only, else ''. */
function ceAttributes(ce: Json) {
  return {
    id: str(ce.id),
    source: str(ce.source),
    type: str(ce.type),
    spec_version: str(ce.specversion),
    data_content_type: str(ce.datacontenttype),
  };
}

const mediaType = (ct: string) => ct.split(';', 1)[0]!.trim().toLowerCase();
const isJsonType = (t: string) => t === 'application/json' || t.endsWith('+json');

/**
 * A bulk entry's data for TopicEventCERequest.data (daprd extractCloudEvent): a string as its
 * UTF-8 bytes, JSON content types re-marshalled. Unlike daprd, data_base64 is decoded rather than
 * dropped, and data of another content type is still sent (daprd sends nothing, or fails the entry
 * for non-string data of a text type): a string as is, anything else as JSON.
 */
export function bulkEntryData(ce: Json): Buffer {
  if (typeof ce.data_base64 === 'string') return Buffer.from(ce.data_base64, 'base64');
  const data = ce.data;
  if (data === undefined || data === null) return Buffer.alloc(0);
  const t = mediaType(str(ce.datacontenttype));
  if (typeof data === 'string' && !isJsonType(t)) return Buffer.from(data, 'utf8');
  return Buffer.from(JSON.stringify(data));
}

/** What both TopicEventRequests share: the CloudEvent attributes, the data bytes, topic and pubsub. */
const topicEventFields = (ev: AppTopicEvent): Json => ({
  ...ceAttributes(ev.cloudEvent),
  data: ev.data,
  topic: ev.topic,
  pubsub_name: ev.pubsubName,
});

export const daprTopicEventRequest = (ev: AppTopicEvent): Json => ({
  ...topicEventFields(ev),
  path: ev.path,
  extensions: extensionsOf(ev.cloudEvent),
});

export const layottoTopicEventRequest = (ev: AppTopicEvent): Json => ({ ...topicEventFields(ev), metadata: ev.metadata });

const entryContentType = (e: AppBulkEntry) =>
  e.contentType || (Buffer.isBuffer(e.event) ? 'application/octet-stream' : 'application/cloudevents+json');

/** TopicEventBulkRequestEntry: raw payloads as `bytes`, CloudEvents as `cloud_event`. */
function daprBulkEntry(e: AppBulkEntry): Json {
  const common = { entry_id: e.entryId, content_type: entryContentType(e), metadata: e.metadata };
  if (Buffer.isBuffer(e.event)) return { ...common, bytes: e.event };
  const ce = e.event;
  return { ...common, cloud_event: { ...ceAttributes(ce), data: bulkEntryData(ce), extensions: extensionsOf(ce) } };
}

export function daprBulkRequest(ev: AppBulkEvent, metadata: Record<string, string>): Json {
  return {
    id: ev.id,
    entries: ev.entries.map(daprBulkEntry),
    metadata,
    topic: ev.topic,
    pubsub_name: ev.pubsubName,
    type: 'com.dapr.event.sent.bulk',
    path: ev.path,
  };
}

/** One bulk entry as a Layotto TopicEventRequest (Layotto has no bulk rpc). */
export function layottoEntryRequest(ev: AppBulkEvent, e: AppBulkEntry): Json {
  const metadata = { ...ev.metadata, ...e.metadata };
  const common = { topic: ev.topic, pubsub_name: ev.pubsubName, metadata };
  if (Buffer.isBuffer(e.event)) {
    return { ...common, id: e.entryId, data: e.event, data_content_type: entryContentType(e) };
  }
  return { ...common, ...ceAttributes(e.event), data: bulkEntryData(e.event) };
}

/** TopicEventResponseStatus as a string (Dapr loader) or number (Layotto loader); unknown → RETRY. */
export function statusFromEnum(v: unknown): AppEventStatus {
  if (v === undefined || v === null || v === 'SUCCESS' || v === 0) return 'SUCCESS';
  if (v === 'DROP' || v === 2) return 'DROP';
  return 'RETRY';
}

/** Per-entry statuses from TopicEventBulkResponse: unknown ids ignored, missing entries RETRY. */
export function bulkStatusesFromGrpc(res: Json, entryIds: string[]): Map<string, AppEventStatus> {
  const out = new Map<string, AppEventStatus>(entryIds.map((id) => [id, 'RETRY']));
  const statuses = Array.isArray(res.statuses) ? (res.statuses as Json[]) : [];
  for (const s of statuses) {
    const id = str(s.entry_id);
    if (out.has(id)) out.set(id, statusFromEnum(s.status));
  }
  return out;
}

interface DaprTopicSubscription {
  pubsub_name: string;
  topic: string;
  metadata: Record<string, string>;
  routes: { rules: { match: string; path: string }[]; default: string } | null;
  dead_letter_topic: string;
  bulk_subscribe: { enabled: boolean; max_messages_count: number; max_await_duration_ms: number } | null;
}

/** Dapr's ListTopicSubscriptionsResponse (daprd GetSubscriptionsGRPC + parseRoutingRulesGRPC). */
export function subscriptionsFromDapr(res: Json): AppSubscription[] {
  const subs = (Array.isArray(res.subscriptions) ? res.subscriptions : []) as DaprTopicSubscription[];
  return subs.map((s) => {
    const rules = (s.routes?.rules ?? []).map((r) => ({ match: str(r.match).trim(), path: str(r.path) }));
    const defaultRoute = str(s.routes?.default);
    const sub: AppSubscription = {
      pubsubName: str(s.pubsub_name),
      topic: str(s.topic),
      metadata: { ...(s.metadata ?? {}) },
      rules: rules.length === 0 && defaultRoute === '' ? CATCH_ALL() : rules,
      defaultRoute,
      deadLetterTopic: str(s.dead_letter_topic),
    };
    if (s.bulk_subscribe) {
      sub.bulkSubscribe = {
        enabled: s.bulk_subscribe.enabled === true,
        maxMessagesCount: Number(s.bulk_subscribe.max_messages_count) || 0,
        maxAwaitDurationMs: Number(s.bulk_subscribe.max_await_duration_ms) || 0,
      };
    }
    return sub;
  });
}

/** Layotto's ListTopicSubscriptionsResponse: (pubsub_name, topic, metadata), always delivered. */
export function subscriptionsFromLayotto(res: Json): AppSubscription[] {
  const subs = (Array.isArray(res.subscriptions) ? res.subscriptions : []) as Pick<DaprTopicSubscription, 'pubsub_name' | 'topic' | 'metadata'>[];
  return subs.map((s) => ({
    pubsubName: str(s.pubsub_name),
    topic: str(s.topic),
    metadata: { ...(s.metadata ?? {}) },
    rules: CATCH_ALL(),
    defaultRoute: '',
    deadLetterTopic: '',
  }));
}
