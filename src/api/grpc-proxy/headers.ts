// HTTP/2 header lists as the proxy copies them: from the raw name/value pairs, so a repeated
// metadata key keeps its separate values (node's header object joins them with ', ') and binary
// '-bin' values pass as the base64 text they arrived as.
import type { OutgoingHttpHeaders } from 'node:http2';

export type HeaderMap = Record<string, string[]>;

/** Connection-specific fields: HTTP/2 forbids them (node refuses to send them). */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'http2-settings']);

/** Raw [name, value, name, value, ...] pairs as a map, names lower-cased. */
export function headerMap(raw: readonly string[]): HeaderMap {
  const out: HeaderMap = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    (out[k] ??= []).push(raw[i + 1]!);
  }
  return out;
}

export const first = (h: HeaderMap, name: string): string | undefined => h[name]?.[0];

/** The end-to-end fields: no pseudo-headers, nothing connection-specific. */
export function endToEnd(h: HeaderMap): HeaderMap {
  const out: HeaderMap = {};
  for (const [k, v] of Object.entries(h)) if (!k.startsWith(':') && !CONNECTION_SPECIFIC.has(k)) out[k] = v;
  return out;
}

/** For node's http2 respond/request/sendTrailers: one value as a string, repeated ones as an array. */
export function outgoing(h: HeaderMap): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) out[k] = v.length === 1 ? v[0] : v;
  return out;
}
