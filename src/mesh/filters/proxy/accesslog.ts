// proxy.accesslog: one line per proxied request with Envoy's access log fields (its JSON format's
// names), to the sidecar log (scope layotto.proxy.access, at info whatever --log-level says, as
// daprd's API log) or appended to a file (`path`), as Envoy's default text line or as JSON lines.
// response_flags carries Envoy's short flags for the proxy's own answers (RL rate limited, FI fault
// abort, DI delay injected, NR no route, UH no healthy upstream, UT upstream timeout...), error_code
// the reason by name. The file is written through a stream; a disk that cannot keep up drops lines
// rather than letting them pile up in memory.
import { createWriteStream, type WriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import type { Logger } from 'pino';
import { z } from 'zod';
import { scoped } from '../../../observability/logger';
import { MetricsRegistry } from '../../../observability/metrics/registry';
import type { Exchange, Filter } from '../../filter';
import type { FilterFactory } from '../../registry';
import { clusterOf, headerValue, PROXY_APIS, parseSettings, routeOf } from './common';
import { DELAYED, PROXY_FAULTINJECT_TYPE } from './faultinject';

export const PROXY_ACCESSLOG_TYPE = 'proxy.accesslog';
export const ACCESS_LOG_SCOPE = 'layotto.proxy.access';
/** Buffered bytes past which lines are dropped until the file catches up. */
const MAX_BUFFERED = 8 << 20;

/** Envoy's response flags for the proxy's error codes. */
const FLAGS: Record<string, string> = {
  RATE_LIMITED: 'RL',
  FAULT_ABORT: 'FI',
  NO_ROUTE: 'NR',
  NO_HEALTHY_UPSTREAM: 'UH',
  UPSTREAM_TIMEOUT: 'UT',
  UPSTREAM_RESET: 'UR',
  CIRCUIT_OPEN: 'UO',
};

const schema = z.strictObject({
  /** Append to this file instead of logging. */
  path: z.string().min(1).optional(),
  /** File lines: Envoy's default text format or one JSON object per line. */
  format: z.enum(['text', 'json']).default('text'),
});

export interface AccessRecord {
  start_time: string;
  method: string;
  path: string;
  protocol: string;
  response_code: number;
  response_flags: string;
  error_code?: string;
  upstream_status?: number;
  bytes_received: number;
  bytes_sent: number;
  /** Milliseconds, whole (Envoy's %DURATION%). */
  duration: number;
  upstream_host?: string;
  upstream_cluster: string;
  route_name: string;
  listener: string;
  authority: string;
  x_request_id?: string;
  user_agent?: string;
  downstream_remote_address: string;
}

export function accessRecord(ex: Exchange): AccessRecord {
  const ms = MetricsRegistry.msSince(ex.startNs);
  const p = ex.proxy;
  const flags = [ex.attrs.get(PROXY_FAULTINJECT_TYPE) === DELAYED ? 'DI' : '', ex.errorCode ? (FLAGS[ex.errorCode] ?? ex.errorCode) : ''].filter(Boolean).join(',');
  return {
    start_time: new Date(Date.now() - ms).toISOString(),
    method: ex.verb,
    path: ex.path,
    protocol: ex.protocol === 'grpc' ? 'gRPC' : 'HTTP',
    response_code: ex.status ?? 0,
    response_flags: flags,
    error_code: ex.errorCode,
    upstream_status: p?.upstreamStatus,
    bytes_received: ex.requestBytes ?? 0,
    bytes_sent: ex.responseBytes ?? 0,
    duration: Math.floor(ms),
    upstream_host: p?.upstream,
    upstream_cluster: clusterOf(ex),
    route_name: routeOf(ex),
    listener: p?.listener ?? '',
    authority: p?.host ?? headerValue(ex, 'host') ?? '',
    x_request_id: headerValue(ex, 'x-request-id'),
    user_agent: headerValue(ex, 'user-agent'),
    downstream_remote_address: ex.remoteAddress,
  };
}

const q = (v: string | undefined) => (v ? JSON.stringify(v) : '"-"');
const dash = (v: string | number | undefined) => (v === undefined || v === '' ? '-' : String(v));

/**
 * Envoy's default line with our additions at the end:
 * [start] "METHOD PATH PROTOCOL" STATUS FLAGS BYTES_IN BYTES_OUT DURATION UPSTREAM_STATUS "CLIENT" "USER-AGENT" "X-REQUEST-ID" "AUTHORITY" "UPSTREAM" ROUTE CLUSTER LISTENER
 */
export function textLine(r: AccessRecord): string {
  return (
    `[${r.start_time}] "${r.method} ${r.path} ${r.protocol}" ${r.response_code} ${dash(r.response_flags)} ${r.bytes_received} ${r.bytes_sent} ${r.duration} ${dash(r.upstream_status)} ` +
    `${q(r.downstream_remote_address)} ${q(r.user_agent)} ${q(r.x_request_id)} ${q(r.authority)} ${q(r.upstream_host)} ${dash(r.route_name)} ${dash(r.upstream_cluster)} ${dash(r.listener)}\n`
  );
}

export const proxyAccessLog: FilterFactory = (settings, ctx) => {
  const cfg = parseSettings(PROXY_ACCESSLOG_TYPE, schema, settings);
  return cfg.path ? fileAccessLog(cfg.path, cfg.format, ctx.log) : loggerAccessLog(ctx.log);
};

export function loggerAccessLog(log: Logger): Filter {
  const access = scoped(log, ACCESS_LOG_SCOPE);
  access.level = 'info';
  return {
    name: PROXY_ACCESSLOG_TYPE,
    apis: PROXY_APIS,
    onResponse(ex) {
      access.info(accessRecord(ex), 'proxy access');
    },
  };
}

/** Opens (creates) the file for appending; a path that cannot be written fails here, not per request. */
export async function fileAccessLog(path: string, format: 'text' | 'json', log: Logger): Promise<Filter> {
  const out: WriteStream = createWriteStream(path, { flags: 'a' });
  await new Promise<void>((resolve, reject) => {
    out.once('open', () => resolve());
    out.once('error', (e) => reject(new Error(`${PROXY_ACCESSLOG_TYPE}: cannot open ${path}: ${e.message}`)));
  });
  let dropped = 0;
  out.on('error', (e) => log.error(`${PROXY_ACCESSLOG_TYPE}: writing ${path} failed: ${e.message}`));
  out.on('drain', () => {
    if (dropped) log.warn(`${PROXY_ACCESSLOG_TYPE}: ${dropped} lines dropped while ${path} could not keep up`);
    dropped = 0;
  });
  const line = format === 'json' ? (r: AccessRecord) => JSON.stringify(r) + '\n' : textLine;
  return {
    name: PROXY_ACCESSLOG_TYPE,
    apis: PROXY_APIS,
    onResponse(ex) {
      if (out.destroyed || out.writableEnded) return;
      if (out.writableLength > MAX_BUFFERED) {
        dropped++;
        return;
      }
      out.write(line(accessRecord(ex)));
    },
    async close() {
      if (!out.writableEnded) out.end();
      await finished(out).catch(() => undefined); // a write error was logged already
    },
  };
}
