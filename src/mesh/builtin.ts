// The one file that registers every filter type by name (as components/builtin.ts does for
// components): configuration refers to these names.
import { filterRegistry } from './registry';
import { FLOW_CONTROL_TYPE, flowControl, GRPC_FLOW_CONTROL_TYPE, grpcFlowControl } from './ratelimit/flow-control';
import { HTTP_RATELIMIT_TYPE, httpRateLimit } from './ratelimit/http-ratelimit';
import { PROXY_ACCESSLOG_TYPE, proxyAccessLog } from './filters/proxy/accesslog';
import { PROXY_FAULTINJECT_TYPE, proxyFaultInject } from './filters/proxy/faultinject';
import { PROXY_METRICS_TYPE, proxyMetrics } from './filters/proxy/metrics';
import { PROXY_RATELIMIT_TYPE, proxyRateLimit } from './filters/proxy/ratelimit';
import { PROXY_TRACING_TYPE, proxyTracing } from './filters/proxy/tracing';

filterRegistry.register(HTTP_RATELIMIT_TYPE, httpRateLimit);
filterRegistry.register(GRPC_FLOW_CONTROL_TYPE, grpcFlowControl);
filterRegistry.register(FLOW_CONTROL_TYPE, flowControl);
// The mesh proxy's filters (a MeshProxy listener's `filters`).
filterRegistry.register(PROXY_RATELIMIT_TYPE, proxyRateLimit);
filterRegistry.register(PROXY_FAULTINJECT_TYPE, proxyFaultInject);
filterRegistry.register(PROXY_METRICS_TYPE, proxyMetrics);
filterRegistry.register(PROXY_ACCESSLOG_TYPE, proxyAccessLog);
filterRegistry.register(PROXY_TRACING_TYPE, proxyTracing);

export { filterRegistry };
