// The metrics filter: daprd's HTTP and gRPC server families for every API, and Layotto's
// grpc_metric families (grpc_request_total ...) for the Layotto face. It only observes.
import type { Exchange, Filter } from '../filter';
import type { HttpLabeler } from '../../observability/metrics/path-label';
import { MetricsRegistry } from '../../observability/metrics/registry';
import { errorCategory } from '../../observability/metrics/error-codes';

/** gRPC codes as Go's codes.Code.String() writes them (daprd's grpc_server_status values). */
const GO_CODE_NAMES = ['OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied', 'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated'];
export const goCodeName = (code: number): string => GO_CODE_NAMES[code] ?? `Code(${code})`;

export function metricsFilter(m: MetricsRegistry, labeler: HttpLabeler): Filter {
  const appId = m.appId;
  const http = (ex: Exchange, ms: number) => {
    const labels = { app_id: appId, ...labeler.labels(ex), status: String(ex.status ?? 0) };
    m.http.requestCount.inc(labels);
    m.http.latency.observe(labels, ms);
    m.http.requestBytes.observe({ app_id: appId }, ex.requestBytes ?? 0);
    m.http.responseBytes.observe({ app_id: appId }, ex.responseBytes ?? 0);
  };
  const grpc = (ex: Exchange, ms: number) => {
    const method = ex.route;
    const labels = { app_id: appId, grpc_server_method: method, grpc_server_status: goCodeName(ex.status ?? 2) };
    m.grpc.completed.inc(labels);
    m.grpc.latency.observe(labels, ms);
    // daprd sizes unary messages only (its stream interceptor records count and latency).
    if (!ex.streaming) {
      m.grpc.received.observe({ app_id: appId, grpc_server_method: method }, ex.requestBytes ?? 0);
      m.grpc.sent.observe({ app_id: appId, grpc_server_method: method }, ex.responseBytes ?? 0);
    }
    if (ex.api === 'layotto-grpc') {
      const service = { service: method };
      m.layotto.requests.inc(service);
      (ex.status === 0 ? m.layotto.succeeded : m.layotto.failed).inc(service);
      m.layotto.costTime.observe(service, ms);
    }
  };
  return {
    name: 'metrics',
    apis: ['dapr-http', 'dapr-grpc', 'layotto-grpc', 'internal'],
    onResponse(ex) {
      const ms = MetricsRegistry.msSince(ex.startNs);
      if (ex.protocol === 'http') http(ex, ms);
      else grpc(ex, ms);
      if (m.recordErrorCodes && ex.errorCode) m.errorCodes.inc({ app_id: appId, error_code: ex.errorCode, category: errorCategory(ex.errorCode) });
    },
  };
}
