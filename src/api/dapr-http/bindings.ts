// Output binding route (daprd's onOutputBindingMessage): body {data, metadata, operation}, `data`
// re-marshalled to JSON bytes as Go's json.Marshal writes it, trace context from the headers. The
// binding's response metadata comes back as `metadata.<key>` headers, on failures too; the body is
// the response data (200), or nothing when the binding had no response (204).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { goField, isJsonObject } from '../../app-channel/json-fields';
import type { Core } from '../../core';
import { OutputBindingError } from '../../core/bindings';
import { RuntimeError } from '../../errors/runtime-error';
import type { Endpoint } from './endpoint';
import { goJsonStringify } from './go-json';
import { jsonBody, noContent } from './request';

const FIELDS = ['data', 'metadata', 'operation'];

/** Go's encoding/json fills the request struct ignoring the case of the keys. */
const OutputBindingBody = z
  .preprocess(
    (v) => (isJsonObject(v) ? Object.fromEntries(FIELDS.map((f) => [f, goField(v, f)])) : v),
    z.object({
      data: z.unknown(),
      metadata: z.record(z.string(), z.string()).nullish(),
      operation: z.string().nullish(),
    }),
  )
  .nullable();

/** A header value Node will send (no control characters); others are left out rather than failing the answer. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

function setMetadataHeaders(reply: FastifyReply, md: Record<string, string>): void {
  for (const [k, v] of Object.entries(md)) if (HEADER_VALUE.test(v) && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k)) reply.header(`metadata.${k}`, v);
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export function bindingsEndpoints(core: Core): Endpoint[] {
  const bindings = core.bindings;
  const invoke: Endpoint['handler'] = async (req, reply) => {
    const { name } = req.params as { name: string };
    const body = jsonBody(req, OutputBindingBody, (msg) => new RuntimeError('MALFORMED_REQUEST', msg === 'Unexpected end of JSON input' ? 'EOF' : msg));
    try {
      const res = await bindings.invoke({
        name,
        operation: body?.operation ?? '',
        data: Buffer.from(goJsonStringify(body?.data ?? null)),
        metadata: body?.metadata ?? {},
        traceparent: header(req, 'traceparent'),
        tracestate: header(req, 'tracestate'),
        baggage: header(req, 'baggage'),
      });
      if (!res) return noContent(reply);
      setMetadataHeaders(reply, res.metadata);
      return reply.code(200).header('content-type', 'application/json').send(res.data);
    } catch (e) {
      if (e instanceof OutputBindingError) setMetadataHeaders(reply, e.responseMetadata);
      throw e;
    }
  };
  return [{ methods: ['POST', 'PUT'], url: '/v1.0/bindings/:name', name: 'InvokeBinding', handler: invoke }];
}
