// The one file that registers every filter type by name (as components/builtin.ts does for
// components): configuration refers to these names.
import { filterRegistry } from './registry';
import { FLOW_CONTROL_TYPE, flowControl, GRPC_FLOW_CONTROL_TYPE, grpcFlowControl } from './ratelimit/flow-control';
import { HTTP_RATELIMIT_TYPE, httpRateLimit } from './ratelimit/http-ratelimit';

filterRegistry.register(HTTP_RATELIMIT_TYPE, httpRateLimit);
filterRegistry.register(GRPC_FLOW_CONTROL_TYPE, grpcFlowControl);
filterRegistry.register(FLOW_CONTROL_TYPE, flowControl);

export { filterRegistry };
