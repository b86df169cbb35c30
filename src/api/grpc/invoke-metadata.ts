// Invocation headers <-> gRPC metadata, for the two gRPC faces and the gRPC app channel. Binary
// ('-bin') values travel base64-encoded in Headers, as daprd keeps them in its internal metadata.
// Headers an HTTP peer sent under IANA's permanent names are renamed dapr-<name> on their way into
// gRPC metadata (daprd's isPermanentHTTPHeader), so they cannot clash with HTTP/2's own.
import { Metadata } from '@grpc/grpc-js';
import type { Headers } from '../../core/invoke/types';

const PERMANENT = new Set([
  'accept', 'accept-charset', 'accept-language', 'accept-ranges', 'connection', 'keep-alive',
  'proxy-connection', 'transfer-encoding', 'upgrade', 'cache-control', 'content-type',
  'content-length', 'cookie', 'date', 'expect', 'from', 'host', 'if-match', 'if-modified-since',
  'if-none-match', 'if-schedule-tag-match', 'if-unmodified-since', 'max-forwards', 'origin',
  'pragma', 'referer', 'via', 'warning',
]);

/** Set by grpc-js / HTTP/2 itself: never copied between calls. */
const TRANSPORT = new Set(['content-type', 'te', 'user-agent', 'host', 'connection', 'transfer-encoding', 'keep-alive', 'upgrade', 'accept-encoding']);

const KEY = /^[0-9a-z_.-]+$/;
const TEXT_VALUE = /^[ -~]*$/;

const isTransport = (k: string): boolean => k.startsWith(':') || k.startsWith('grpc-') || TRANSPORT.has(k);

/** Headers as gRPC metadata; `fromHttp` renames the permanent HTTP headers under dapr-. */
export function metadataOf(headers: Headers, opts: { fromHttp: boolean }): Metadata {
  const md = new Metadata();
  for (const [key, values] of Object.entries(headers)) {
    const k = key.toLowerCase();
    const name = opts.fromHttp && PERMANENT.has(k) ? `dapr-${k}` : k;
    if (isTransport(name) || !KEY.test(name)) continue;
    for (const v of values) {
      if (name.endsWith('-bin')) md.add(name, Buffer.from(v, 'base64'));
      else if (TEXT_VALUE.test(v)) md.add(name, v);
    }
  }
  return md;
}

/** gRPC metadata as Headers (binary values base64), without the transport's own keys. */
export function headersOf(md: Metadata | undefined): Headers {
  const out: Headers = {};
  if (!md) return out;
  for (const [k, values] of Object.entries(md.toJSON())) {
    if (isTransport(k)) continue;
    out[k] = values.map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : String(v)));
  }
  return out;
}
