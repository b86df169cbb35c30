// proxy.ratelimit: Envoy's local rate limit for the mesh proxy. Each rule selects requests by route
// and/or cluster and counts them per key (client address, path, gRPC method, a header, or one key
// for all) in a token bucket that refills by elapsed time: `rate` tokens per `per`, holding `burst`
// (default `rate`, so a fresh window admits about `rate`). With `shared`, the counts live in Redis
// (whole-second windows, see ratelimit/shared.ts) and every sidecar using the keyPrefix shares them.
// A refused request is answered locally: HTTP `status` (429) with `body`, gRPC RESOURCE_EXHAUSTED.
// Every matching rule must admit a request; rules are checked in order and the first refusal stops.
import { z } from 'zod';
import type { Exchange, Filter, LocalReply, Verdict } from '../../filter';
import { duration } from '../../proxy/config';
import type { FilterContext, FilterFactory } from '../../registry';
import { KeyedLimiter } from '../../ratelimit/keyed';
import { type KeyPart, keyBy } from '../../ratelimit/keys';
import type { Clock, RateLimiter } from '../../ratelimit/limiter';
import { closeShared, connectShared, RedisLimiter, windowsFor } from '../../ratelimit/shared';
import { TokenBucket } from '../../ratelimit/token-bucket';
import { clusterOf, PROXY_APIS, parseSettings, routeOf } from './common';

export const PROXY_RATELIMIT_TYPE = 'proxy.ratelimit';
export const RATE_LIMITED = 'RATE_LIMITED';
/** Envoy's local rate limit answer. */
export const LOCAL_RATE_LIMITED = 'local_rate_limited';
const RESOURCE_EXHAUSTED = 8;

const keyPart = z.string().refine((k) => ['client', 'path', 'grpc-method', 'none'].includes(k) || /^header:.+$/.test(k), {
  message: "key must be 'client', 'path', 'grpc-method', 'header:<name>' or 'none'",
});

const ruleSchema = z.strictObject({
  /** Only requests routed by this route (its name). */
  route: z.string().min(1).optional(),
  /** Only requests routed to this cluster. */
  cluster: z.string().min(1).optional(),
  /** What the limit is counted per; a list combines parts (client and path: one bucket per pair). */
  key: z.union([keyPart, z.array(keyPart).min(1)]).default('none'),
  /** Requests admitted per `per`. */
  rate: z.number().positive('must be a positive number'),
  per: duration.default(1000).refine((ms) => ms > 0, 'must be a positive duration'),
  /** Bucket size: how many may come at once; default `rate`. Not used with `shared`. */
  burst: z.number().min(1).optional(),
});

const redisValue = z.union([z.string(), z.number(), z.boolean()]).transform(String);

const schema = z.strictObject({
  rules: z.array(ruleSchema).min(1, 'needs at least one rule'),
  /** The Redis components' metadata (redisHost, redisPassword, redisDB, enableTLS, dialTimeout...) plus keyPrefix. */
  shared: z.record(z.string(), redisValue).refine((r) => !!r.redisHost, 'redisHost is required').optional(),
  status: z.number().int().min(400).max(599).default(429),
  body: z.string().default(LOCAL_RATE_LIMITED),
  /** Per rule: live keys kept at most; past it the least recently used is forgotten (a key flood cannot grow memory). */
  maxKeys: z.number().int().positive().default(100_000),
});

type RuleConfig = z.infer<typeof ruleSchema>;

interface Rule {
  route?: string;
  cluster?: string;
  /** A gRPC-method key only applies to gRPC requests. */
  grpcOnly: boolean;
  key: (ex: Exchange) => string;
  limiter: RateLimiter;
}

export interface ProxyRateLimitFilter extends Filter {
  close(): Promise<void>;
  /** Live local keys across the rules (diagnostics, tests). */
  liveKeys(): number;
}

const keyParts = (k: RuleConfig['key']): string[] => (Array.isArray(k) ? k : [k]).filter((p) => p !== 'none');

function toKeyPart(p: string): KeyPart {
  if (p === 'client' || p === 'path') return p;
  if (p === 'grpc-method') return 'path'; // a gRPC request's path is its full method
  return { header: p.slice('header:'.length) };
}

/** Where a rule's counts live in Redis: the same rule on every sidecar, whatever the rule order. */
function sharedId(r: RuleConfig, taken: Set<string>): string {
  const base = `${r.route ?? '*'}|${r.cluster ?? '*'}|${keyParts(r.key).join('+') || 'none'}`;
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}#${n}`;
  taken.add(id);
  return id;
}

/** A rate per `per` ms as Redis windows: whole seconds of `per` keep it; otherwise per second. */
function sharedWindows(r: RuleConfig): { points: number; windowSec: number } {
  if (r.per % 1000 === 0) return { points: Math.max(1, Math.round(r.rate)), windowSec: r.per / 1000 };
  return windowsFor((r.rate * 1000) / r.per);
}

export const proxyRateLimit: FilterFactory = (settings, ctx) => createProxyRateLimit(settings, ctx);

/** The filter from its settings; `clock` is for tests. */
export async function createProxyRateLimit(settings: Record<string, unknown>, ctx: FilterContext, clock?: Clock): Promise<ProxyRateLimitFilter> {
  const cfg = parseSettings(PROXY_RATELIMIT_TYPE, schema, settings);
  const client = cfg.shared ? await connectShared(cfg.shared, PROXY_RATELIMIT_TYPE) : undefined;
  const keyPrefix = cfg.shared?.keyPrefix || 'layotto-ts:proxy-ratelimit';
  const ids = new Set<string>();
  const local: KeyedLimiter[] = [];
  const rules: Rule[] = cfg.rules.map((r) => {
    const parts = keyParts(r.key);
    let limiter: RateLimiter;
    if (client) {
      if (r.burst !== undefined) ctx.log.warn(`${PROXY_RATELIMIT_TYPE}: burst is not used with shared (Redis counts fixed windows of ${r.per} ms)`);
      limiter = new RedisLimiter(client, { ...sharedWindows(r), keyPrefix: `${keyPrefix}:${sharedId(r, ids)}` });
    } else {
      const perSec = (r.rate * 1000) / r.per;
      const burst = r.burst ?? Math.max(1, r.rate);
      const keyed = new KeyedLimiter((now) => new TokenBucket(perSec, burst, now), { clock, maxKeys: cfg.maxKeys, lru: true });
      local.push(keyed);
      limiter = keyed;
    }
    return { route: r.route, cluster: r.cluster, grpcOnly: parts.includes('grpc-method'), key: keyBy(parts.map(toKeyPart)), limiter };
  });

  // The rules for a route and cluster, found once per pair (both come from the configuration).
  const byTarget = new Map<string, Rule[]>();
  const rulesFor = (ex: Exchange): Rule[] => {
    const route = routeOf(ex);
    const cluster = clusterOf(ex);
    const id = `${route}\n${cluster}`;
    let list = byTarget.get(id);
    if (!list) {
      if (byTarget.size >= 4096) byTarget.clear();
      byTarget.set(id, (list = rules.filter((r) => (r.route === undefined || r.route === route) && (r.cluster === undefined || r.cluster === cluster))));
    }
    return list;
  };

  const reply: LocalReply = {
    http: { status: cfg.status, body: cfg.body, contentType: 'text/plain; charset=utf-8' },
    grpc: { code: RESOURCE_EXHAUSTED, details: cfg.body },
  };
  const refuse = (ex: Exchange): LocalReply => {
    ex.errorCode = RATE_LIMITED;
    return reply;
  };
  const warnFailOpen = (e: unknown) => ctx.log.warn(`${PROXY_RATELIMIT_TYPE}: shared limit unavailable, request admitted: ${(e as Error).message}`);

  // Synchronous while every answer is (local buckets); a shared limit's answer continues from where it was.
  const check = (ex: Exchange, list: Rule[], from: number): Verdict | Promise<Verdict> => {
    for (let i = from; i < list.length; i++) {
      const r = list[i]!;
      if (r.grpcOnly && ex.protocol !== 'grpc') continue;
      const ok = r.limiter.take(r.key(ex));
      if (ok === true) continue;
      if (ok === false) return refuse(ex);
      return ok.then(
        (admitted) => (admitted ? check(ex, list, i + 1) : refuse(ex)),
        (e: unknown) => (warnFailOpen(e), check(ex, list, i + 1)),
      );
    }
    return undefined;
  };

  return {
    name: PROXY_RATELIMIT_TYPE,
    apis: PROXY_APIS,
    onRequest(ex) {
      const list = rulesFor(ex);
      return list.length === 0 ? undefined : check(ex, list, 0);
    },
    close: () => closeShared(client),
    liveKeys: () => local.reduce((n, k) => n + k.size, 0),
  };
}
