// proxy.faultinject: Envoy's fault filter for the mesh proxy. A percentage of requests (fractions
// allowed: 0.5 = one in two hundred) is held for `fixedDelay` before going on, and a percentage is
// answered locally instead of reaching the upstream (HTTP `httpStatus`, gRPC `grpcStatus`; either
// is derived from the other when only one is given, 503 / UNAVAILABLE when neither). A delayed
// request may then be aborted too, as in Envoy. `headers` and `routes` narrow which requests qualify.
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { grpcCodeFromHttp, httpStatusFromGrpc } from '../../../core/invoke/status-codes';
import type { Exchange, Filter, LocalReply, Verdict } from '../../filter';
import { duration } from '../../proxy/config';
import type { FilterFactory } from '../../registry';
import { headerValue, PROXY_APIS, parseSettings, routeOf } from './common';

export const PROXY_FAULTINJECT_TYPE = 'proxy.faultinject';
export const FAULT_ABORT = 'FAULT_ABORT';
/** Envoy's abort body. */
export const FAULT_ABORT_BODY = 'fault filter abort';
/** What the filter leaves in Exchange.attrs under its type when it delayed a request (the access log's DI flag). */
export const DELAYED = 'delayed';

const percentage = z.number().min(0, 'must be 0-100').max(100, 'must be 0-100');

const schema = z
  .strictObject({
    delay: z.strictObject({ percentage, fixedDelay: duration.refine((ms) => ms >= 0, 'must not be negative') }).optional(),
    abort: z
      .strictObject({
        percentage,
        httpStatus: z.number().int().min(200).max(599).optional(),
        grpcStatus: z.number().int().min(1, 'must be a gRPC status code 1-16').max(16, 'must be a gRPC status code 1-16').optional(),
        body: z.string().default(FAULT_ABORT_BODY),
      })
      .optional(),
    /** Only requests with all these headers (with `exact`: that value). */
    headers: z.array(z.strictObject({ name: z.string().min(1).transform((n) => n.toLowerCase()), exact: z.string().optional() })).default([]),
    /** Only requests routed by these routes (names). */
    routes: z.array(z.string().min(1)).min(1).optional(),
    /** At most this many requests held at once; past it, requests are not delayed. */
    maxActiveDelays: z.number().int().positive().optional(),
  })
  .refine((c) => c.delay || c.abort, 'needs delay or abort (or both)');

export type FaultInjectConfig = z.infer<typeof schema>;

export const proxyFaultInject: FilterFactory = (settings) => buildFaultInject(parseSettings(PROXY_FAULTINJECT_TYPE, schema, settings));

/** The filter from a parsed config; `random` (0 <= x < 1) is for tests. */
export function buildFaultInject(cfg: FaultInjectConfig, random: () => number = Math.random): Filter {
  const { delay, abort, headers } = cfg;
  const routes = cfg.routes && new Set(cfg.routes);
  const maxActive = cfg.maxActiveDelays ?? Infinity;
  let active = 0;

  let reply: LocalReply | undefined;
  if (abort) {
    const httpStatus = abort.httpStatus ?? (abort.grpcStatus !== undefined ? httpStatusFromGrpc(abort.grpcStatus) : 503);
    const grpcCode = abort.grpcStatus ?? grpcCodeFromHttp(httpStatus);
    reply = { http: { status: httpStatus, body: abort.body, contentType: 'text/plain; charset=utf-8' }, grpc: { code: grpcCode, details: abort.body } };
  }

  const applies = (ex: Exchange): boolean => {
    if (routes && !routes.has(routeOf(ex))) return false;
    for (const h of headers) {
      const v = headerValue(ex, h.name);
      if (v === undefined || (h.exact !== undefined && v !== h.exact)) return false;
    }
    return true;
  };
  // `percentage` of 100: random() is below it that share of the time.
  const hit = (pct: number) => pct > 0 && random() * 100 < pct;
  const maybeAbort = (ex: Exchange): Verdict => {
    if (!reply || !hit(abort!.percentage)) return undefined;
    ex.errorCode = FAULT_ABORT;
    return reply;
  };
  const delayed = async (ex: Exchange, ms: number): Promise<Verdict> => {
    active++;
    ex.attrs.set(PROXY_FAULTINJECT_TYPE, DELAYED);
    try {
      await sleep(ms);
    } finally {
      active--;
    }
    return maybeAbort(ex);
  };

  return {
    name: PROXY_FAULTINJECT_TYPE,
    apis: PROXY_APIS,
    onRequest(ex) {
      if (!applies(ex)) return undefined;
      if (delay && active < maxActive && hit(delay.percentage)) return delayed(ex, delay.fixedDelay);
      return maybeAbort(ex);
    },
  };
}
