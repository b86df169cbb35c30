// Layotto's flowControlFilter (MOSN's flowcontrol stream filter over Sentinel), configured as in
// Layotto's config.json stream_filters: per-resource limits where the resource is the gRPC full
// method (`/spec.proto.runtime.v1.Runtime/SayHello`) or, on the Dapr HTTP API, the URL path.
// A refused call answers the action body: gRPC status UNKNOWN with it as the message (MOSN passes
// it as a plain error), HTTP action.status (509). Unlike Layotto, a new stream is refused too.
// With `redis` set, the counts live in Redis and are shared by every sidecar using the keyPrefix.
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ComponentConfigError } from '../../components/types';
import type { FilterContext, FilterFactory } from '../registry';
import { limitFilter, type LimitFilter } from './filter-base';
import { KeyedLimiter } from './keyed';
import type { Clock, RateLimiter } from './limiter';
import { closeShared, connectShared, RedisLimiter } from './shared';
import { SlidingWindow } from './window';

export const FLOW_CONTROL_TYPE = 'flowControlFilter';
export const GRPC_FLOW_CONTROL_TYPE = 'middleware.grpc.flowcontrol';
export const DEFAULT_ACTION = { status: 509, body: 'current request is limited' };
const UNKNOWN = 2;

const stringValues = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));

const ruleSchema = z
  .object({
    resource: z.string().min(1, 'must not be empty'),
    threshold: z.number().min(0, 'must not be negative'),
    /** The counting window in seconds (Layotto's docs; 1 is also Sentinel's "QPS" grade). */
    grade: z.number().positive('must be a positive number of seconds').default(1),
    /** Sentinel's own window field; wins over grade when set. */
    statIntervalInMs: z.number().int().positive().optional(),
  })
  .loose();

export const flowControlSchema = z
  .object({
    global_switch: z.boolean().default(false),
    limit_key_type: z.enum(['PATH', 'URI', 'ARG']).default('PATH'),
    rules: z.array(ruleSchema).default([]),
    action: z.object({ status: z.number().int().min(100).max(999).default(DEFAULT_ACTION.status), body: z.string().default(DEFAULT_ACTION.body) }).loose().default(DEFAULT_ACTION),
    /** Our addition: share the counts through Redis (the Redis components' metadata, plus keyPrefix). */
    redis: stringValues.optional(),
  })
  .loose() // app_name, callback_name, log_path, monitor, direction: Sentinel's, nothing to do here
  .refine((c) => c.limit_key_type !== 'ARG', { message: 'limit_key_type ARG (Sentinel hot-parameter limits) is not supported; use PATH', path: ['limit_key_type'] });
export type FlowControlConfig = z.infer<typeof flowControlSchema>;

/** The filter from a Layotto stream_filters config object. */
export const flowControl: FilterFactory = async (settings, ctx) => {
  const parsed = flowControlSchema.safeParse(settings);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ComponentConfigError(`${FLOW_CONTROL_TYPE} config${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.message}`);
  }
  return buildFlowControl(parsed.data, ctx);
};

/** The filter from a parsed config; `clock` is for tests. */
export async function buildFlowControl(cfg: FlowControlConfig, ctx: FilterContext, clock?: Clock): Promise<LimitFilter> {
  if (!cfg.global_switch) ctx.log.info(`${FLOW_CONTROL_TYPE}: global_switch is off; no request is limited`);
  const byResource = new Map<string, { limiter: RateLimiter; key: string }>();
  let close: (() => Promise<void>) | undefined;
  if (cfg.global_switch && cfg.rules.length > 0) {
    const client = cfg.redis ? await connectShared(cfg.redis, FLOW_CONTROL_TYPE) : undefined;
    if (client) close = () => closeShared(client);
    const keyPrefix = cfg.redis?.keyPrefix || 'layotto-ts:flowcontrol';
    for (const rule of cfg.rules) {
      if (byResource.has(rule.resource)) ctx.log.warn(`${FLOW_CONTROL_TYPE}: several rules for ${rule.resource}; the last one applies`);
      const windowMs = rule.statIntervalInMs ?? rule.grade * 1000;
      const limiter = client
        ? new RedisLimiter(client, { points: rule.threshold, windowSec: Math.max(1, Math.round(windowMs / 1000)), keyPrefix })
        : new KeyedLimiter((now) => new SlidingWindow(rule.threshold, windowMs, now), { clock });
      byResource.set(rule.resource, { limiter, key: rule.resource });
    }
  }
  const { status, body } = cfg.action;
  return limitFilter({
    name: FLOW_CONTROL_TYPE,
    apis: ['layotto-grpc', 'dapr-grpc', 'dapr-http'],
    select: (ex) => byResource.get(ex.path),
    reply: { http: { status, body, contentType: 'text/plain; charset=utf-8' }, grpc: { code: UNKNOWN, details: body } },
    close,
  });
}

/**
 * The same filter as a Dapr middleware component (type middleware.grpc.flowcontrol) for YAML users,
 * referenced from a Configuration's spec.grpcPipeline. Metadata: rules (a JSON/YAML list of
 * {resource, grade, threshold}), globalSwitch (default true), limitKeyType, actionStatus,
 * actionBody, and redisHost/redisPassword/.../keyPrefix for a shared limit.
 */
export const grpcFlowControl: FilterFactory = async (settings, ctx) => {
  const props = lowerKeys(settings as Record<string, string>);
  let rules: unknown;
  try {
    rules = props.rules === undefined ? [] : parseYaml(props.rules);
  } catch (e) {
    throw new ComponentConfigError(`metadata field "rules": not a JSON or YAML list: ${(e as Error).message.split('\n')[0]}`, 'rules');
  }
  const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
  const { globalswitch, limitkeytype, actionstatus, actionbody } = props;
  const redis = props.redishost ? { ...(settings as Record<string, string>), keyPrefix: props.keyprefix ?? '' } : undefined;
  const cfg = flowControlSchema.safeParse({
    global_switch: globalswitch === undefined ? true : globalswitch === 'true',
    limit_key_type: limitkeytype,
    rules,
    action: { status: num(actionstatus), body: actionbody },
    redis,
  });
  if (!cfg.success) {
    const issue = cfg.error.issues[0]!;
    const field = ({ global_switch: 'globalSwitch', limit_key_type: 'limitKeyType', rules: 'rules', action: issue.path[1] === 'body' ? 'actionBody' : 'actionStatus' } as Record<string, string>)[String(issue.path[0])] ?? String(issue.path[0]);
    throw new ComponentConfigError(`metadata field "${field}": ${issue.path.slice(1).join('.')}${issue.path.length > 1 ? ': ' : ''}${issue.message}`, field);
  }
  return buildFlowControl(cfg.data, ctx);
};

function lowerKeys(props: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(props).map(([k, v]) => [k.toLowerCase(), v]));
}
