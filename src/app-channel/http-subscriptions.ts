// The body of an HTTP app's GET /dapr/subscribe, read the way daprd reads it
// (pkg/runtime/pubsub/subscriptions.go GetSubscriptionsHTTP): a JSON array of
// {pubsubname, topic, route?, routes?{rules[{match,path}], default}, metadata?, deadLetterTopic?,
// bulkSubscribe?{enabled, maxMessagesCount, maxAwaitDurationMs}}. Like Go's encoding/json, field
// names match case-insensitively, null reads as "absent" and a value of the wrong type fails the
// whole answer. `routes.default` wins over the v1 `route`; an entry left with no route at all is
// dropped (daprd logs "empty routes" and removes it).
import { goField as field, isJsonObject as isObj, type JsonObject as Obj } from './json-fields';
import type { AppSubscription } from './types';

export class SubscribeResponseError extends Error {
  constructor(detail: string) {
    super(`the app's GET /dapr/subscribe answer is not valid: ${detail}`);
    this.name = 'SubscribeResponseError';
  }
}

function asString(v: unknown, where: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new SubscribeResponseError(`${where} must be a string`);
  return v;
}

function asObject(v: unknown, where: string): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw new SubscribeResponseError(`${where} must be an object`);
  return v;
}

function asInt32(v: unknown, where: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
    throw new SubscribeResponseError(`${where} must be a 32-bit integer`);
  }
  return v;
}

function asStringMap(v: unknown, where: string): Record<string, string> {
  const o = asObject(v, where);
  const out: Record<string, string> = {};
  if (!o) return out;
  for (const [k, val] of Object.entries(o)) {
    out[k] = asString(val, `${where}.${k}`);
  }
  return out;
}

function parseEntry(item: unknown, at: string): AppSubscription {
  const o = asObject(item, at) ?? {};
  const routes = asObject(field(o, 'routes'), `${at}.routes`) ?? {};
  const rawRules = field(routes, 'rules');
  if (rawRules !== undefined && rawRules !== null && !Array.isArray(rawRules)) {
    throw new SubscribeResponseError(`${at}.routes.rules must be an array`);
  }
  const rules = ((rawRules as unknown[] | null | undefined) ?? []).map((r, j) => {
    const rule = asObject(r, `${at}.routes.rules[${j}]`) ?? {};
    return {
      match: asString(field(rule, 'match'), `${at}.routes.rules[${j}].match`).trim(),
      path: asString(field(rule, 'path'), `${at}.routes.rules[${j}].path`),
    };
  });
  const routesDefault = asString(field(routes, 'default'), `${at}.routes.default`);
  const route = asString(field(o, 'route'), `${at}.route`);
  const sub: AppSubscription = {
    pubsubName: asString(field(o, 'pubsubname'), `${at}.pubsubname`),
    topic: asString(field(o, 'topic'), `${at}.topic`),
    metadata: asStringMap(field(o, 'metadata'), `${at}.metadata`),
    rules,
    defaultRoute: routesDefault !== '' ? routesDefault : route,
    deadLetterTopic: asString(field(o, 'deadLetterTopic'), `${at}.deadLetterTopic`),
  };
  const bulk = asObject(field(o, 'bulkSubscribe'), `${at}.bulkSubscribe`);
  if (bulk) {
    const enabled = field(bulk, 'enabled');
    if (enabled !== undefined && enabled !== null && typeof enabled !== 'boolean') {
      throw new SubscribeResponseError(`${at}.bulkSubscribe.enabled must be a boolean`);
    }
    sub.bulkSubscribe = {
      enabled: enabled === true,
      maxMessagesCount: asInt32(field(bulk, 'maxMessagesCount'), `${at}.bulkSubscribe.maxMessagesCount`),
      maxAwaitDurationMs: asInt32(field(bulk, 'maxAwaitDurationMs'), `${at}.bulkSubscribe.maxAwaitDurationMs`),
    };
  }
  return sub;
}

/** Parses the response body; throws SubscribeResponseError when it is not what daprd accepts. */
export function parseSubscribeResponse(body: string): AppSubscription[] {
  if (body.trim() === '') return [];
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (e) {
    throw new SubscribeResponseError(`not JSON (${(e as Error).message})`);
  }
  if (json === null) return [];
  if (!Array.isArray(json)) throw new SubscribeResponseError('expected a JSON array of subscriptions');
  return json
    .map((item, i) => parseEntry(item, `[${i}]`))
    .filter((s) => s.rules.length > 0 || s.defaultRoute !== '');
}
