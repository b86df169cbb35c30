// Bulk publish entries arrive as JSON values with a content type; daprd turns each into the bytes
// it would have received on a single publish (pkg/api/http ConvertEventToBytes).
import { isBinaryContentType, isCloudEventContentType, isJsonContentType } from './content-type';

const isStringContentType = (ct: string) => {
  const t = ct.split(';', 1)[0]!.trim().toLowerCase();
  return t.startsWith('text/') || t === 'application/xml' || t.endsWith('+xml');
};

/** Throws with a plain message when the value does not fit its content type. */
export function eventToBytes(event: unknown, contentType: string): Buffer {
  if (isCloudEventContentType(contentType) || isJsonContentType(contentType)) return Buffer.from(JSON.stringify(event ?? null));
  if (isBinaryContentType(contentType)) {
    if (typeof event !== 'string') throw new Error(`the event of content type ${contentType} must be a base64 string`);
    return Buffer.from(event, 'base64');
  }
  if (isStringContentType(contentType)) {
    if (typeof event !== 'string') throw new Error(`the event of content type ${contentType} must be a string`);
    return Buffer.from(event, 'utf8');
  }
  return typeof event === 'string' ? Buffer.from(event, 'utf8') : Buffer.from(JSON.stringify(event ?? null));
}
