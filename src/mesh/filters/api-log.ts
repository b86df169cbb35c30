// API logging (daprd's --enable-api-logging / Configuration logging.apiLogging): one info line per
// API call, on the dapr.runtime.http-info and dapr.runtime.grpc.api-info scopes, with daprd's
// fields (method, code, size, duration in ms, useragent). Those loggers log at info whatever
// --log-level says, as daprd's do.
import type { Logger } from 'pino';
import type { Exchange, Filter } from '../filter';
import { scoped } from '../../observability/logger';

export interface ApiLogOptions {
  /** obfuscateURLs: the operation's name instead of the verb and the concrete path. */
  obfuscateURLs: boolean;
  /** omitHealthChecks: no line for the healthz endpoints. */
  omitHealthChecks: boolean;
}

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
const isHealthCheck = (ex: Exchange) => ex.route.startsWith('/v1.0/healthz');

export function apiLogFilter(log: Logger, opts: ApiLogOptions): Filter {
  const http = scoped(log, 'dapr.runtime.http-info');
  const grpc = scoped(log, 'dapr.runtime.grpc.api-info');
  http.level = grpc.level = 'info';
  return {
    name: 'api-log',
    apis: ['dapr-http', 'dapr-grpc', 'layotto-grpc'],
    onResponse(ex) {
      const duration = Math.floor(Number(process.hrtime.bigint() - ex.startNs) / 1e6);
      const useragent = first(ex.headers['user-agent']);
      if (ex.protocol === 'http') {
        if (opts.omitHealthChecks && isHealthCheck(ex)) return;
        const method = opts.obfuscateURLs ? (ex.operation ?? ex.route) : `${ex.verb} ${ex.path}`;
        http.info({ method, ...(useragent ? { useragent } : {}), code: ex.status, size: ex.responseBytes ?? 0, duration }, 'HTTP API Called');
      } else {
        grpc.info({ method: ex.route, ...(useragent ? { useragent } : {}), code: ex.status, duration }, 'gRPC API Called');
      }
    },
  };
}
