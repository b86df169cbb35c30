// Delivery of HTTP configuration subscriptions: daprd POSTs the whole update event
// `{id, items:{<key>:{value,version,metadata}}}` to the app at /configuration/{store}/{key}, once per
// changed key, over the app channel. Kept minimal until the app channel (issue #4) exists: plain
// HTTP to --app-channel-address:--app-port; a failure or non-200 answer is logged, not retried.
import type { FastifyBaseLogger } from 'fastify';
import { request } from 'undici';
import type { ConfigurationItem } from '../../core/configuration';

export interface AppChannel {
  address: string;
  port: number;
}

/** Go's encoding of configuration.Item: every field omitempty. */
export function itemsJson(items: ConfigurationItem[]): Record<string, { value?: string; version?: string; metadata?: Record<string, string> }> {
  const out: Record<string, { value?: string; version?: string; metadata?: Record<string, string> }> = {};
  for (const it of items) {
    out[it.key] = {
      ...(it.value ? { value: it.value } : {}),
      ...(it.version ? { version: it.version } : {}),
      ...(Object.keys(it.metadata).length > 0 ? { metadata: it.metadata } : {}),
    };
  }
  return out;
}

export async function deliverToApp(app: AppChannel, storeName: string, id: string, items: ConfigurationItem[], log?: FastifyBaseLogger): Promise<void> {
  const body = JSON.stringify({ id, items: itemsJson(items) }) + '\n';
  const host = app.address.includes(':') ? `[${app.address}]` : app.address;
  for (const it of items) {
    const url = `http://${host}:${app.port}/configuration/${encodeURIComponent(storeName)}/${encodeURIComponent(it.key)}`;
    try {
      const res = await request(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`error sending configuration item to application, status ${res.statusCode}`);
    } catch (e) {
      log?.error(`error sending configuration item to the app: ${(e as Error).message}`);
    }
  }
}
