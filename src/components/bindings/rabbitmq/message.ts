// The input side's message mapping. Reading itself is pub/sub's QueueConsumer on the binding's
// queue: one message at a time, in order (contrib reads them in one loop), acked once the app took
// it, nacked with requeue when it did not so the broker delivers it again.
import type { ConsumeMessage } from 'amqplib';
import type { BindingReadEvent } from '../types';

/** The event the app gets: the body, and the string headers as metadata. */
export const toReadEvent = (msg: ConsumeMessage): BindingReadEvent => ({ data: msg.content, metadata: headersToMetadata(msg.properties.headers) });

/** String headers as event metadata, query-escaped as contrib does so they can travel as HTTP headers. */
export function headersToMetadata(headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (typeof v === 'string') out[goQueryEscape(k)] = goQueryEscape(v);
  }
  return out;
}

/** Go's url.QueryEscape: everything but A-Z a-z 0-9 - _ . ~ escaped, space as '+'. */
export function goQueryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}
