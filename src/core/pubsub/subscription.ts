// A subscription as the runtime keeps it, whatever declared it (daprd's runtime/subscription).
import type { AppSubscription } from '../../app-channel/types';

export type SubscriptionType = 'DECLARATIVE' | 'PROGRAMMATIC' | 'STREAMING';

export interface SubscriptionSpec extends AppSubscription {
  type: SubscriptionType;
}

/** Defaults daprd applies to bulkSubscribe. */
export const BULK_DEFAULTS = { maxMessagesCount: 100, maxAwaitDurationMs: 1000 };

export const subscriptionKey = (pubsubName: string, topic: string) => `${pubsubName}||${topic}`;

/** A subscription as the metadata API lists it (daprd's JSON with omitempty). */
export function subscriptionInfo(s: SubscriptionSpec): Record<string, unknown> {
  const rules = [...s.rules, ...(s.defaultRoute ? [{ match: '', path: s.defaultRoute }] : [])]
    .filter((r) => r.path)
    .map((r) => ({ ...(r.match ? { match: r.match } : {}), path: r.path }));
  return {
    pubsubname: s.pubsubName,
    topic: s.topic,
    ...(Object.keys(s.metadata).length > 0 ? { metadata: s.metadata } : {}),
    ...(rules.length > 0 ? { rules } : {}),
    ...(s.deadLetterTopic ? { deadLetterTopic: s.deadLetterTopic } : {}),
    type: s.type,
  };
}
