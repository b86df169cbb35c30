// Request helpers shared by the handlers: `metadata.*` query params, JSON bodies checked by a zod
// schema, and raw JSON inlining for stored values.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { parseJson } from '../../core/json-depth';
import { RuntimeError } from '../../errors/runtime-error';
import { describeIssues } from './schemas';

export type Query = Record<string, string | string[] | undefined>;

const PREFIX = 'metadata.';

/** `?metadata.k=v` → {k: v}; a repeated key keeps its first value, as daprd does. */
export function metadataOf(req: FastifyRequest): Record<string, string> {
  const md: Record<string, string> = {};
  const q = req.query as Query;
  for (const k in q) {
    if (!k.startsWith(PREFIX)) continue;
    const v = q[k];
    md[k.slice(PREFIX.length)] = Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
  }
  return md;
}

/** First value of a query parameter. */
export function queryParam(req: FastifyRequest, name: string): string | undefined {
  const v = (req.query as Query)[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The raw body the catch-all content-type parser kept (empty when there was none). */
export function rawBody(req: FastifyRequest): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

/**
 * Parses the body as JSON and checks it against a schema. Both failures are 400
 * ERR_MALFORMED_REQUEST ("failed deserializing HTTP body: ...") unless `fail` builds another error.
 */
export function jsonBody<S extends z.ZodType>(
  req: FastifyRequest,
  schema: S,
  fail: (msg: string) => RuntimeError = (msg) => new RuntimeError('MALFORMED_REQUEST', msg),
): z.infer<S> {
  let value: unknown;
  try {
    value = parseJson(rawBody(req).toString('utf8'));
  } catch (e) {
    throw fail((e as Error).message);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw fail(describeIssues(parsed.error));
  return parsed.data;
}

/**
 * Stored bytes as a JSON value to inline in a response (daprd uses json.RawMessage). Bytes that are
 * not JSON (e.g. saved over gRPC) become a JSON string of their UTF-8 text instead of breaking the
 * whole response.
 */
export function inlineJson(data: Buffer | undefined): string {
  if (!data || data.length === 0) return 'null';
  const text = data.toString('utf8');
  try {
    JSON.parse(text);
    return text;
  } catch {
    return JSON.stringify(text);
  }
}

/** Sends an already-serialized JSON text. */
export function sendJson(reply: FastifyReply, status: number, json: string): FastifyReply {
  // A Buffer, so fastify adds no "; charset=utf-8": daprd sends plain application/json.
  return reply.code(status).header('content-type', 'application/json').send(Buffer.from(json));
}

/** 204, daprd's answer for success without a body. */
export function noContent(reply: FastifyReply): FastifyReply {
  return reply.code(204).send();
}
