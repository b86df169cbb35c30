// Topic scoping from component metadata (daprd's pkg/runtime/pubsub scopes): allowedTopics,
// protectedTopics, publishingScopes and subscriptionScopes ("app1=t1,t2;app2=t3").
import { prop } from '../../components/pubsub/metadata';

export interface TopicScopes {
  allowed: string[];
  protected: string[];
  /** Topics this app is scoped to publish / subscribe; undefined = not listed. */
  publishing?: string[];
  subscribing?: string[];
}

const list = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);

/** "app1=t1,t2;app2=t3" → the topics listed for appId, or undefined when the app is not listed. */
function scopedFor(v: string | undefined, appId: string): string[] | undefined {
  let out: string[] | undefined;
  for (const part of (v ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== appId) continue;
    out = [...(out ?? []), ...list(part.slice(eq + 1))];
  }
  return out;
}

/** Parsed once per component: its properties object never changes after init, and a process has one app id. */
const cache = new WeakMap<Record<string, string>, TopicScopes>();

export function topicScopes(props: Record<string, string>, appId: string): TopicScopes {
  let scopes = cache.get(props);
  if (!scopes) cache.set(props, (scopes = parseScopes(props, appId)));
  return scopes;
}

function parseScopes(props: Record<string, string>, appId: string): TopicScopes {
  return {
    allowed: list(prop(props, 'allowedTopics')),
    protected: list(prop(props, 'protectedTopics')),
    publishing: scopedFor(prop(props, 'publishingScopes'), appId),
    subscribing: scopedFor(prop(props, 'subscriptionScopes'), appId),
  };
}

/** daprd's isOperationAllowed: allowedTopics gate everyone; protected topics need an explicit scope. */
export function isAllowed(topic: string, scopes: TopicScopes, scoped: string[] | undefined): boolean {
  if (scopes.allowed.length > 0 && !scopes.allowed.includes(topic)) return false;
  const isProtected = scopes.protected.includes(topic);
  if ((scoped ?? []).length === 0 && !isProtected) return true;
  return (scoped ?? []).includes(topic);
}
