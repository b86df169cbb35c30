// Topic scoping from component metadata (daprd's pkg/runtime/pubsub scopes): allowedTopics,
// protectedTopics, publishingScopes and subscriptionScopes ("app1=t1,t2;app2=t3"). Spaces are
// dropped anywhere in a value; "app2=" lists app2 with no topic, so app2 may use none.
import { prop } from '../../components/pubsub/metadata';

export interface TopicScopes {
  allowed: string[];
  protected: string[];
  /** Topics this app is scoped to publish / subscribe; [] = the app is not listed (no limit of its own). */
  publishing: string[];
  subscribing: string[];
}

/** Topics of a comma list, spaces dropped, first occurrence kept ('' stays: it names no topic). */
function topics(v: string): string[] {
  return [...new Set(v.replaceAll(' ', '').split(','))];
}

/** allowedTopics / protectedTopics: an unset or empty value lists nothing. */
const listed = (v: string | undefined): string[] => (v ? topics(v) : []);

/**
 * daprd's GetScopedTopics: the topics every "appId=…" entry gives appId. A listed app with an empty
 * list gets [''] — a non-empty scope no topic matches. Entries without '=' are ignored.
 */
export function scopedTopics(v: string | undefined, appId: string): string[] {
  if (!v) return [];
  const out: string[] = [];
  for (const entry of v.replaceAll(' ', '').split(';')) {
    const parts = entry.split('=');
    if (parts.length < 2 || parts[0] !== appId) continue;
    for (const t of topics(parts[1]!)) if (!out.includes(t)) out.push(t);
  }
  return out;
}

/** Parsed once per component (its properties object never changes after init) and app id. */
const cache = new WeakMap<Record<string, string>, { appId: string; scopes: TopicScopes }>();

export function topicScopes(props: Record<string, string>, appId: string): TopicScopes {
  const hit = cache.get(props);
  if (hit?.appId === appId) return hit.scopes;
  const scopes = parseScopes(props, appId);
  cache.set(props, { appId, scopes });
  return scopes;
}

function parseScopes(props: Record<string, string>, appId: string): TopicScopes {
  return {
    allowed: listed(prop(props, 'allowedTopics')),
    protected: listed(prop(props, 'protectedTopics')),
    publishing: scopedTopics(prop(props, 'publishingScopes'), appId),
    subscribing: scopedTopics(prop(props, 'subscriptionScopes'), appId),
  };
}

/**
 * daprd's IsOperationAllowed: allowedTopics gate every app; then a topic that is protected, or any
 * topic of an app with a scope of its own, needs to be in that scope.
 */
export function isAllowed(topic: string, scopes: TopicScopes, scoped: readonly string[]): boolean {
  if (scopes.allowed.length > 0 && !scopes.allowed.includes(topic)) return false;
  if (scoped.length === 0 && !scopes.protected.includes(topic)) return true;
  return scoped.includes(topic);
}

/** Whether appId may publish to / subscribe to `topic` on a pubsub with these component properties. */
export function mayPublish(props: Record<string, string>, appId: string, topic: string): boolean {
  const s = topicScopes(props, appId);
  return isAllowed(topic, s, s.publishing);
}

export function maySubscribe(props: Record<string, string>, appId: string, topic: string): boolean {
  const s = topicScopes(props, appId);
  return isAllowed(topic, s, s.subscribing);
}
