// Publish routes (daprd's onPublish / onBulkPublish): the topic is the rest of the path, the body
// is the payload as sent, `metadata.*` query parameters are the request metadata, trace context
// comes from the traceparent/tracestate headers.
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { goField, isJsonObject } from '../../app-channel/json-fields';
import type { Core } from '../../core';
import { parseJson } from '../../core/json-depth';
import { RuntimeError } from '../../errors/runtime-error';
import type { Endpoint } from './endpoint';
import { metadataOf, noContent, rawBody, sendJson } from './request';
import { describeIssues } from './schemas';

interface PublishParams {
  pubsubname: string;
  '*': string;
}

const ENTRY_FIELDS = ['entryId', 'event', 'contentType', 'metadata'];

/** Go's encoding/json matches field names ignoring case: the JS SDK sends `entryID`. */
function goFields(v: unknown): unknown {
  if (!isJsonObject(v)) return v;
  return Object.fromEntries(ENTRY_FIELDS.map((name) => [name, goField(v, name)]));
}

const BulkEntries = z.array(
  z.preprocess(
    goFields,
    z.object({
      entryId: z.string().optional().default(''),
      event: z.unknown(),
      contentType: z.string().optional().default(''),
      metadata: z.record(z.string(), z.string()).nullish().transform((m) => m ?? {}),
    }),
  ),
);

function target(req: FastifyRequest) {
  const p = req.params as PublishParams;
  const header = (name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  return { pubsubName: p.pubsubname, topic: p['*'] ?? '', metadata: metadataOf(req), traceparent: header('traceparent'), tracestate: header('tracestate') };
}

export function pubsubEndpoints(core: Core): Endpoint[] {
  const publisher = core.pubsub.publisher;
  const bulk: Endpoint['handler'] = async (req, reply) => {
    const t = target(req);
    publisher.lookup(t.pubsubName, t.topic);
    let entries: z.infer<typeof BulkEntries>;
    try {
      const parsed = BulkEntries.safeParse(parseJson(rawBody(req).toString('utf8')));
      if (!parsed.success) throw new Error(describeIssues(parsed.error));
      entries = parsed.data;
    } catch (e) {
      throw new RuntimeError('PUBSUB_UNMARSHAL_EVENTS', t.topic, t.pubsubName, (e as Error).message);
    }
    const res = await publisher.bulkPublish({ ...t, entries });
    if (!res.error) return noContent(reply);
    // daprd answers the failed entries with the publish error's status.
    const body = { failedEntries: res.failedEntries.map((f) => ({ entryId: f.entryId, error: f.error })), errorCode: res.error.code };
    return sendJson(reply, res.error.row.http, JSON.stringify(body));
  };
  const publish: Endpoint['handler'] = async (req, reply) => {
    const t = target(req);
    await publisher.publish({ ...t, data: rawBody(req), contentType: req.headers['content-type'] ?? '' });
    return noContent(reply);
  };
  return [
    { methods: ['POST', 'PUT'], url: '/v1.0/publish/:pubsubname/*', name: 'PublishEvent', handler: publish },
    { methods: ['POST', 'PUT'], url: '/v1.0/publish/:pubsubname', name: 'PublishEvent', handler: emptyTopic(publish) },
    { methods: ['POST', 'PUT'], url: '/v1.0-alpha1/publish/bulk/:pubsubname/*', name: 'BulkPublishEvent', handler: bulk },
    { methods: ['POST', 'PUT'], url: '/v1.0-alpha1/publish/bulk/:pubsubname', name: 'BulkPublishEvent', handler: emptyTopic(bulk) },
    { methods: ['POST', 'PUT'], url: '/v1.0/publish/bulk/:pubsubname/*', name: 'BulkPublishEvent', handler: bulk },
  ];
}

/**
 * `/v1.0/publish/<pubsub>/` with nothing after the slash reaches daprd's handler (chi's catch-all
 * takes ''), which answers ERR_TOPIC_NAME_EMPTY. The router here strips that trailing slash, so the
 * route without a topic checks the URL itself; without the slash it is no publish route at all.
 * (/v1.0/publish/bulk/<pubsub> gets no such route: it would shadow a publish to a pubsub "bulk".)
 */
function emptyTopic(handler: Endpoint['handler']): Endpoint['handler'] {
  return async (req, reply) => (req.url.split('?', 1)[0]!.endsWith('/') ? handler(req, reply) : reply.callNotFound());
}


