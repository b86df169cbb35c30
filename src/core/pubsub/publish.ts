// Publishing, written once for the three APIs: validate (daprd's order), wrap the payload in the
// CloudEvent envelope unless rawPayload, check topic scopes, hand the bytes to the broker under
// the broker's outbound resiliency policies.
import { errMessage, RuntimeError } from '../../errors/runtime-error';
import { isBulkPublisher, PubSubFeature, type BulkPublishEntry, type PubSub } from '../../components/pubsub/types';
import { prop } from '../../components/pubsub/metadata';
import type { CoreContext } from '../context';
import { NO_RESILIENCY, type Resiliency } from '../resiliency/types';
import { eventToBytes } from './bulk-event';
import { currentTrace, newTraceparent } from '../trace';
import { buildEnvelope, CloudEventError, parseBool } from './cloudevent';
import { mayPublish } from './scopes';

export interface PublishInput {
  pubsubName: string;
  topic: string;
  data: Buffer;
  contentType: string;
  metadata: Record<string, string>;
  traceparent?: string;
  tracestate?: string;
}

export interface BulkPublishInput {
  pubsubName: string;
  topic: string;
  metadata: Record<string, string>;
  /** `event` is the JSON value of the entry (HTTP) or its bytes (gRPC). */
  entries: { entryId: string; event: unknown; contentType: string; metadata: Record<string, string> }[];
  traceparent?: string;
  tracestate?: string;
}

export interface BulkPublishOutcome {
  failedEntries: { entryId: string; error: string }[];
  /** Set when some entries failed: the error the HTTP face answers with (gRPC answers OK). */
  error?: RuntimeError;
}

export interface PublishOptions {
  /** Layotto's envelope defaults its source to the app id only; same fields otherwise. */
  source?: string;
}

export class PubSubPublisher {
  constructor(
    private readonly ctx: CoreContext,
    private readonly resiliency: Resiliency = NO_RESILIENCY,
  ) {}

  /** The live broker for a name, with daprd's lookup errors. */
  lookup(pubsubName: string, topic: string): PubSub {
    if (this.ctx.components.count('pubsub') === 0) throw new RuntimeError('PUBSUB_NOT_CONFIGURED');
    if (!pubsubName) throw new RuntimeError('PUBSUB_EMPTY');
    const live = this.ctx.components.get('pubsub', pubsubName);
    if (!live) throw new RuntimeError('PUBSUB_NOT_FOUND', pubsubName);
    if (!topic) throw new RuntimeError('PUBSUB_TOPIC_EMPTY', pubsubName);
    return live.instance;
  }

  async publish(req: PublishInput, opts: PublishOptions = {}): Promise<void> {
    const broker = this.lookup(req.pubsubName, req.topic);
    const raw = rawPayload(req.metadata);
    let data = req.data;
    if (!raw) {
      try {
        data = this.envelope(broker, req, req.data, req.contentType, req.metadata, opts);
      } catch (e) {
        throw new RuntimeError('PUBSUB_CLOUD_EVENT_CREATION', errMessage(e));
      }
    }
    this.checkAllowed(req.pubsubName, req.topic);
    try {
      const msg = { topic: req.topic, data, contentType: raw ? req.contentType : 'application/cloudevents+json', metadata: req.metadata };
      await this.resiliency.componentOutbound(req.pubsubName, () => broker.publish(msg), 'pubsub');
    } catch (e) {
      throw new RuntimeError('PUBSUB_PUBLISH_MESSAGE', req.topic, req.pubsubName, errMessage(e));
    }
  }

  /**
   * Publishes every entry (natively when the broker can, else one by one, all attempted). Input
   * errors throw; broker failures come back as failedEntries plus `error`.
   */
  async bulkPublish(req: BulkPublishInput, opts: PublishOptions = {}): Promise<BulkPublishOutcome> {
    const broker = this.lookup(req.pubsubName, req.topic);
    const raw = rawPayload(req.metadata);
    const seen = new Set<string>();
    const entries: BulkPublishEntry[] = req.entries.map((e) => {
      let data: Buffer;
      try {
        data = Buffer.isBuffer(e.event) ? e.event : eventToBytes(e.event, e.contentType);
      } catch (err) {
        throw new RuntimeError('PUBSUB_MARSHAL_ENVELOPE', req.topic, req.pubsubName, errMessage(err));
      }
      if (!e.entryId || seen.has(e.entryId)) {
        throw new RuntimeError('PUBSUB_MARSHAL_EVENTS', req.topic, req.pubsubName, 'entryId is duplicated or not present for entry');
      }
      seen.add(e.entryId);
      // Entry metadata overrides the request's.
      return { entryId: e.entryId, data, contentType: e.contentType, metadata: { ...req.metadata, ...e.metadata } };
    });
    if (!raw) {
      for (const e of entries) {
        try {
          e.data = this.envelope(broker, req, e.data, e.contentType ?? '', e.metadata, opts);
        } catch (err) {
          throw new RuntimeError('PUBSUB_CLOUD_EVENT_CREATION', errMessage(err));
        }
        e.contentType = 'application/cloudevents+json';
      }
    }
    this.checkAllowed(req.pubsubName, req.topic);
    if (entries.length === 0) return { failedEntries: [] };

    let failedEntries: { entryId: string; error: string }[];
    if (isBulkPublisher(broker) && broker.features().includes(PubSubFeature.BULK_PUBLISH)) {
      try {
        const bulk = { topic: req.topic, entries, metadata: req.metadata };
        failedEntries = (await this.resiliency.componentOutbound(req.pubsubName, () => broker.bulkPublish(bulk), 'pubsub')).failedEntries;
      } catch (e) {
        failedEntries = entries.map((x) => ({ entryId: x.entryId, error: errMessage(e) }));
      }
    } else {
      const publishOne = (e: BulkPublishEntry) => this.resiliency.componentOutbound(req.pubsubName, () => broker.publish({ topic: req.topic, data: e.data, contentType: e.contentType, metadata: e.metadata }), 'pubsub');
      const results = await Promise.allSettled(entries.map(publishOne));
      failedEntries = results.flatMap((r, i) => (r.status === 'rejected' ? [{ entryId: entries[i]!.entryId, error: errMessage(r.reason) }] : []));
    }
    if (failedEntries.length === 0) return { failedEntries };
    return { failedEntries, error: new RuntimeError('PUBSUB_PUBLISH_MESSAGE', req.topic, req.pubsubName, failedEntries[0]!.error) };
  }

  private envelope(broker: PubSub, req: { topic: string; pubsubName: string; traceparent?: string; tracestate?: string }, data: Buffer, contentType: string, metadata: Record<string, string>, opts: PublishOptions): Buffer {
    const ttl = prop(metadata, 'ttlInSeconds');
    let ttlSeconds: number | undefined;
    if (ttl !== undefined && ttl !== '' && !broker.features().includes(PubSubFeature.MESSAGE_TTL)) {
      ttlSeconds = Number(ttl);
      if (!Number.isInteger(ttlSeconds)) throw new CloudEventError(`incorrect value for metadata ttlInSeconds: ${ttl}`);
    }
    const current = currentTrace();
    return buildEnvelope({
      source: opts.source ?? this.ctx.appId,
      topic: req.topic,
      pubsubName: req.pubsubName,
      contentType,
      data,
      // daprd: the publish span's context (with tracing on), else the caller's, else a new trace.
      traceparent: current?.traceparent || req.traceparent || newTraceparent(),
      tracestate: current ? current.tracestate : req.tracestate,
      metadata,
      ttlSeconds: ttlSeconds !== undefined && ttlSeconds > 0 ? ttlSeconds : undefined,
    });
  }

  private checkAllowed(pubsubName: string, topic: string): void {
    const live = this.ctx.components.get('pubsub', pubsubName)!;
    if (!mayPublish(live.meta.properties, this.ctx.appId, topic)) throw new RuntimeError('PUBSUB_FORBIDDEN', topic, this.ctx.appId);
  }
}

/** metadata.rawPayload as daprd reads it (ParseBool); a bad value is the caller's mistake. */
function rawPayload(metadata: Record<string, string>): boolean {
  const v = metadata.rawPayload ?? metadata.rawpayload;
  if (v === undefined || v === '') return false;
  try {
    return parseBool(v);
  } catch (e) {
    throw new RuntimeError('PUBSUB_REQUEST_METADATA', errMessage(e));
  }
}
