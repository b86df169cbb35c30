// Pub/sub metadata the runtime settles before a broker sees it: consumerID defaults to the app id
// (so instances of one app compete and different apps each get every event) and its templates
// are expanded, as daprd's pubsub processor does.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

export interface ConsumerIdContext {
  appId: string;
  namespace: string;
}

/** Returns the properties with consumerID set (templates {appID} {uuid} {namespace} {podName} expanded). */
export function withConsumerId(props: Record<string, string>, ctx: ConsumerIdContext): Record<string, string> {
  const key = Object.keys(props).find((k) => k.toLowerCase() === 'consumerid') ?? 'consumerID';
  const raw = props[key] || ctx.appId;
  const value = raw
    .replaceAll('{appID}', ctx.appId)
    .replaceAll('{uuid}', randomUUID())
    .replaceAll('{podName}', process.env.POD_NAME ?? hostname())
    .replaceAll('{namespace}', ctx.namespace ? `${ctx.namespace}.${ctx.appId}` : ctx.appId);
  return { ...props, [key]: value };
}

/** Case-insensitive metadata lookup (Dapr metadata names are case-insensitive). */
export function prop(props: Record<string, string>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(props)) if (k.toLowerCase() === lower) return v;
  return undefined;
}
