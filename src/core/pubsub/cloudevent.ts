// The CloudEvent 1.0 envelope exactly as daprd builds it on publish (runtime/pubsub NewCloudEvent +
// contrib's envelope.go) and reads it on delivery. JSON data is spliced into the envelope as the
// caller's own text, so big numbers keep their precision (Go decodes them with UseNumber).
import { randomUUID } from 'node:crypto';
import { isBinaryContentType, isCloudEventContentType, isJsonContentType } from './content-type';
import { jsonDepthExceeds, parseJson } from '../json-depth';

export const DEFAULT_TYPE = 'com.dapr.event.sent';
export const DEFAULT_SOURCE = 'Dapr';
export const DEFAULT_DATA_CONTENT_TYPE = 'text/plain';
export const SPEC_VERSION = '1.0';

export interface EnvelopeInput {
  /** Publishing app id (`source`). */
  source: string;
  topic: string;
  pubsubName: string;
  /** Request Content-Type; empty = text/plain. */
  contentType: string;
  data: Buffer;
  traceparent?: string;
  tracestate?: string;
  /** Request metadata: `cloudevent.{id,source,type,traceid,traceparent,tracestate,subject}` override fields. */
  metadata: Record<string, string>;
  /** Set when the broker cannot expire messages itself: an RFC3339 `expiration` now + ttl. */
  ttlSeconds?: number;
  now?: Date;
}

export class CloudEventError extends Error {}

/** RFC3339 with second precision, as Go's time.RFC3339 prints UTC. */
const rfc3339 = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** `cloudevent.x` request metadata, matched case-insensitively (daprd decodes it weakly). */
function overrides(metadata: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) {
    const lower = k.toLowerCase();
    if (lower.startsWith('cloudevent.') && v !== '') out[lower.slice('cloudevent.'.length)] = v;
  }
  return out;
}

/**
 * Serializes the envelope for a publish. An `application/cloudevents+json` body is the caller's
 * own CloudEvent: kept, with topic/pubsubname/trace fields set and missing defaults filled.
 * Throws CloudEventError when such a body is not a JSON object.
 */
export function buildEnvelope(input: EnvelopeInput): Buffer {
  const now = input.now ?? new Date();
  const expiration: Record<string, string> = input.ttlSeconds !== undefined ? { expiration: rfc3339(new Date(now.getTime() + input.ttlSeconds * 1000)) } : {};
  if (isCloudEventContentType(input.contentType)) return Buffer.from(JSON.stringify(fromCloudEvent(input, expiration)));

  const o = overrides(input.metadata);
  const contentType = input.contentType || DEFAULT_DATA_CONTENT_TYPE;
  const traceparent = o.traceparent ?? o.traceid ?? input.traceparent ?? '';
  const head: Record<string, unknown> = {
    id: o.id ?? randomUUID(),
    specversion: SPEC_VERSION,
    datacontenttype: contentType,
    source: o.source ?? (input.source || DEFAULT_SOURCE),
    type: o.type ?? DEFAULT_TYPE,
    topic: input.topic,
    pubsubname: input.pubsubName,
    traceid: traceparent,
    traceparent,
    tracestate: o.tracestate ?? input.tracestate ?? '',
    time: rfc3339(now),
    ...(o.subject ? { subject: o.subject } : {}),
    ...expiration,
  };
  let dataField: string;
  // Subscribers parse the envelope back: data nested past the limit could never be delivered.
  if (isJsonContentType(contentType) && jsonDepthExceeds(input.data.toString('utf8'))) throw new CloudEventError('exceeded max depth');
  if (isJsonContentType(contentType) && isJson(input.data)) {
    dataField = `"data":${input.data.toString('utf8').trim()}`;
  } else if (isBinaryContentType(contentType)) {
    dataField = `"data_base64":${JSON.stringify(input.data.toString('base64'))}`;
  } else {
    dataField = `"data":${JSON.stringify(input.data.toString('utf8'))}`;
  }
  const json = JSON.stringify(head);
  return Buffer.from(`${json.slice(0, -1)},${dataField}}`);
}

function fromCloudEvent(input: EnvelopeInput, expiration: Record<string, string>): Record<string, unknown> {
  let ce: unknown;
  try {
    ce = parseJson(input.data.toString('utf8'));
  } catch (e) {
    throw new CloudEventError(`the body is not a valid CloudEvent: ${(e as Error).message}`);
  }
  if (typeof ce !== 'object' || ce === null || Array.isArray(ce)) throw new CloudEventError('the body is not a valid CloudEvent: not a JSON object');
  const m = ce as Record<string, unknown>;
  const traceparent = input.traceparent ?? '';
  return {
    ...m,
    source: m.source ?? DEFAULT_SOURCE,
    type: m.type ?? DEFAULT_TYPE,
    specversion: m.specversion ?? SPEC_VERSION,
    topic: input.topic,
    pubsubname: input.pubsubName,
    traceid: m.traceid ?? traceparent,
    traceparent: m.traceparent ?? traceparent,
    tracestate: m.tracestate ?? input.tracestate ?? '',
    time: m.time ?? rfc3339(input.now ?? new Date()),
    ...expiration,
  };
}

function isJson(b: Buffer): boolean {
  if (b.length === 0) return false;
  try {
    JSON.parse(b.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

/** A raw (non-CloudEvent) payload as subscribers see it: a synthetic envelope around data_base64. */
export function fromRawPayload(data: Buffer, topic: string, pubsubName: string): Record<string, unknown> {
  return {
    id: randomUUID(),
    specversion: SPEC_VERSION,
    datacontenttype: 'application/octet-stream',
    source: DEFAULT_SOURCE,
    type: DEFAULT_TYPE,
    topic,
    pubsubname: pubsubName,
    data_base64: data.toString('base64'),
  };
}

/** True when the event carries an `expiration` in the past. */
export function hasExpired(ce: Record<string, unknown>, now = Date.now()): boolean {
  const e = ce.expiration;
  if (typeof e !== 'string' || e === '') return false;
  const t = Date.parse(e);
  return Number.isFinite(t) && t < now;
}

/** The event's data as bytes for gRPC apps: data_base64 decoded, JSON data re-marshalled, strings as UTF-8. */
export function dataBytes(ce: Record<string, unknown>): Buffer {
  if (typeof ce.data_base64 === 'string') return Buffer.from(ce.data_base64, 'base64');
  const d = ce.data;
  if (d === undefined || d === null) return Buffer.alloc(0);
  if (typeof d === 'string') return Buffer.from(d, 'utf8');
  return Buffer.from(JSON.stringify(d));
}

/** True for the request metadata value daprd accepts as rawPayload (strconv.ParseBool). */
export function parseBool(v: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw new Error(`strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}
