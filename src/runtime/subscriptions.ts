// Subscription resources → the runtime's subscription shape. `scopes` limits which app ids use one;
// v1alpha1's `route` is a catch-all rule, v2alpha1's routes keep their CEL rules and default.
import type { SubscriptionSpec } from '../core/pubsub';
import type { LoadedSubscription } from './loader';

export function declarativeSubscriptions(loaded: LoadedSubscription[], appId: string): SubscriptionSpec[] {
  return loaded
    .filter(({ manifest: m }) => m.scopes.length === 0 || m.scopes.includes(appId))
    .map(({ manifest: { spec } }) => ({
      pubsubName: spec.pubsubname,
      topic: spec.topic,
      metadata: spec.metadata,
      rules: spec.routes ? spec.routes.rules : [{ match: '', path: spec.route ?? '' }],
      defaultRoute: spec.routes?.default ?? '',
      deadLetterTopic: spec.deadLetterTopic,
      bulkSubscribe: spec.bulkSubscribe
        ? { enabled: spec.bulkSubscribe.enabled, maxMessagesCount: spec.bulkSubscribe.maxMessagesCount ?? 0, maxAwaitDurationMs: spec.bulkSubscribe.maxAwaitDurationMs ?? 0 }
        : undefined,
      type: 'DECLARATIVE' as const,
    }));
}
