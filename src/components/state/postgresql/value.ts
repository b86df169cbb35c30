// How values sit in the v1 table (contrib's rule): JSON values are stored as jsonb with
// isbinary=false; raw bytes are stored as a base64 JSON string with isbinary=true. What counts as JSON: see ../json-value.ts.
import { isJson, isJsonRequest } from '../json-value';
import type { SetRequest } from '../types';

export function encodeValue(req: SetRequest): { json: string; isBinary: boolean } {
  if (isJsonRequest(req) && isJson(req.value)) return { json: req.value.toString('utf8'), isBinary: false };
  return { json: JSON.stringify(Buffer.from(req.value).toString('base64')), isBinary: true };
}

/** The stored jsonb text back to the caller's bytes. */
export function decodeValue(text: string, isBinary: boolean): Buffer {
  if (!isBinary) return Buffer.from(text, 'utf8');
  const b64: unknown = JSON.parse(text);
  if (typeof b64 !== 'string') throw new Error('failed to decode binary value: not a base64 string');
  return Buffer.from(b64, 'base64');
}
