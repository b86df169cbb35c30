// Whether a state value is JSON. daprd treats a value as JSON when it arrives as JSON (HTTP API,
// or metadata contentType application/json); stores that keep JSON natively (postgresql jsonb,
// mongodb BSON) use this test: a JSON content type and bytes that parse as JSON.
import type { SetRequest } from './types';

export function isJsonRequest(req: Pick<SetRequest, 'contentType' | 'metadata'>): boolean {
  const ct = req.contentType ?? req.metadata.contentType ?? '';
  return /(^|\/|\+)json(;|$)/i.test(ct.trim());
}

export function isJson(buf: Buffer): boolean {
  try {
    JSON.parse(buf.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}
