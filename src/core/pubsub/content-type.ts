// Content-type classes that decide how a payload sits in a CloudEvent (contrib's contenttype
// package): JSON goes in `data` as JSON, binary in `data_base64`, anything else as a string.
const mediaType = (ct: string) => ct.split(';', 1)[0]!.trim().toLowerCase();

export const isCloudEventContentType = (ct: string): boolean => mediaType(ct) === 'application/cloudevents+json';

export function isJsonContentType(ct: string): boolean {
  const t = mediaType(ct);
  return t === 'application/json' || t === 'text/json' || t.endsWith('+json');
}

export function isBinaryContentType(ct: string): boolean {
  const t = mediaType(ct);
  return t === 'application/octet-stream' || t === 'application/x-protobuf' || t === 'application/protobuf' || t === 'application/cloudevents+protobuf';
}
