// The sidecar's Prometheus families with daprd's names, label keys and buckets (OpenCensus views
// exported under the "dapr_" namespace), in one private Registry. Latencies are milliseconds.
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** daprd's defaultLatencyDistribution (ms). */
export const DEFAULT_LATENCY_BUCKETS = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 30, 40, 50, 65, 80, 100, 130, 160, 200, 250, 300, 400, 500, 650, 800, 1000, 2000, 5000, 10000, 20000, 50000, 100000];
/** daprd's defaultSizeDistribution (bytes): 1 KiB .. 4 GiB. */
export const DEFAULT_SIZE_BUCKETS = [1 << 10, 2 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20, 256 << 20, 1 << 30, 4 * 2 ** 30];

export interface MetricsOptions {
  appId: string;
  namespace: string;
  latencyBuckets?: readonly number[];
  /** Path label on the HTTP server families (daprd's increasedCardinality, the default). */
  httpPathLabel: boolean;
  /** metrics.recordErrorCodes: count ERR_* codes in dapr_error_code_total. */
  recordErrorCodes: boolean;
}

const COMPONENT = ['app_id', 'component', 'namespace', 'operation', 'success'] as const;

export class MetricsRegistry {
  readonly registry = new Registry();
  readonly appId: string;
  readonly namespace: string;
  readonly recordErrorCodes: boolean;

  constructor(opts: MetricsOptions) {
    this.appId = opts.appId;
    this.namespace = opts.namespace;
    this.recordErrorCodes = opts.recordErrorCodes;
    this.latency = [...(opts.latencyBuckets ?? DEFAULT_LATENCY_BUCKETS)];
    collectDefaultMetrics({ register: this.registry });
    const httpServer = opts.httpPathLabel ? (['app_id', 'method', 'path', 'status'] as const) : (['app_id', 'method', 'status'] as const);
    this.http = {
      requestCount: this.counter('dapr_http_server_request_count', 'Count of HTTP requests processed by the server.', httpServer),
      latency: this.histogram('dapr_http_server_latency', 'HTTP request end-to-end latency in server.', httpServer),
      requestBytes: this.histogram('dapr_http_server_request_bytes', 'HTTP request body size if set as ContentLength (uncompressed) in server.', ['app_id'], DEFAULT_SIZE_BUCKETS),
      responseBytes: this.histogram('dapr_http_server_response_bytes', 'HTTP response body size (uncompressed) in server.', ['app_id'], DEFAULT_SIZE_BUCKETS),
      clientCompleted: this.counter('dapr_http_client_completed_count', 'Count of completed requests', ['app_id', 'status']),
      clientLatency: this.histogram('dapr_http_client_roundtrip_latency', 'Time between first byte of request headers sent to last byte of response received, or terminal error', ['app_id', 'status']),
    };
    this.grpc = {
      completed: this.counter('dapr_grpc_io_server_completed_rpcs', 'Count of RPCs by method and status.', ['app_id', 'grpc_server_method', 'grpc_server_status']),
      latency: this.histogram('dapr_grpc_io_server_server_latency', 'Time between first byte of request received to last byte of response sent, or terminal error.', ['app_id', 'grpc_server_method', 'grpc_server_status']),
      received: this.histogram('dapr_grpc_io_server_received_bytes_per_rpc', 'Total bytes received across all messages per RPC.', ['app_id', 'grpc_server_method'], DEFAULT_SIZE_BUCKETS),
      sent: this.histogram('dapr_grpc_io_server_sent_bytes_per_rpc', 'Total bytes sent in across all response messages per RPC.', ['app_id', 'grpc_server_method'], DEFAULT_SIZE_BUCKETS),
      clientCompleted: this.counter('dapr_grpc_io_client_completed_rpcs', 'Count of RPCs by method and status.', ['app_id', 'grpc_client_method', 'grpc_client_status']),
      clientLatency: this.histogram('dapr_grpc_io_client_roundtrip_latency', 'Time between first byte of request sent to last byte of response received, or terminal error.', ['app_id', 'grpc_client_method', 'grpc_client_status']),
    };
    const kinds = { state: 'state', secret: 'secret', configuration: 'configuration', output_binding: 'output binding' } as const;
    this.component = Object.fromEntries(
      Object.entries(kinds).map(([k, what]) => [
        k,
        {
          count: this.counter(`dapr_component_${k}_count`, `The number of operations performed on the ${what} component.`, COMPONENT),
          latency: this.histogram(`dapr_component_${k}_latencies`, `The latency of the response from the ${what} component.`, COMPONENT),
        },
      ]),
    ) as MetricsRegistry['component'];
    const egress = ['app_id', 'component', 'namespace', 'success', 'topic'] as const;
    const ingress = ['app_id', 'component', 'namespace', 'process_status', 'topic'] as const;
    const input = ['app_id', 'component', 'namespace', 'success'] as const;
    this.pubsub = {
      egressCount: this.counter('dapr_component_pubsub_egress_count', 'The number of outgoing messages published to the pub/sub component.', egress),
      egressLatency: this.histogram('dapr_component_pubsub_egress_latencies', 'The latency of the response from the pub/sub component.', egress),
      ingressCount: this.counter('dapr_component_pubsub_ingress_count', 'The number of incoming messages arriving from the pub/sub component.', ingress),
      ingressLatency: this.histogram('dapr_component_pubsub_ingress_latencies', 'The consuming app event processing latency.', ingress),
      inputCount: this.counter('dapr_component_input_binding_count', 'The number of incoming events arriving from the input binding component.', input),
      inputLatency: this.histogram('dapr_component_input_binding_latencies', 'The triggered app event processing latency.', input),
    };
    this.runtime = {
      loaded: this.counter('dapr_runtime_component_loaded', 'The number of successfully loaded components.', ['app_id']),
      init: this.counter('dapr_runtime_component_init_total', 'The number of initialized components.', ['app_id', 'component']),
      initFail: this.counter('dapr_runtime_component_init_fail_total', 'The number of component initialization failures.', ['app_id', 'component', 'reason', 'componentName']),
      resiliencyLoaded: this.counter('dapr_resiliency_loaded', 'Number of resiliency policies loaded.', ['app_id', 'name', 'namespace']),
    };
    this.invocation = {
      reqSent: this.counter('dapr_runtime_service_invocation_req_sent_total', 'The number of requests sent via service invocation.', ['app_id', 'dst_app_id', 'type']),
      reqRecv: this.counter('dapr_runtime_service_invocation_req_recv_total', 'The number of requests received via service invocation.', ['app_id', 'src_app_id']),
      resSent: this.counter('dapr_runtime_service_invocation_res_sent_total', 'The number of responses sent via service invocation.', ['app_id', 'dst_app_id', 'status']),
      resRecv: this.counter('dapr_runtime_service_invocation_res_recv_total', 'The number of responses received via service invocation.', ['app_id', 'src_app_id', 'status', 'type']),
      resRecvLatency: this.histogram('dapr_runtime_service_invocation_res_recv_latency_ms', 'The latency of service invocation response.', ['app_id', 'src_app_id', 'status']),
    };
    // daprd's access control views: labelled with the caller (its SPIFFE ID's parts), not this app.
    const acl = ['app_id', 'trustDomain', 'namespace'] as const;
    this.acl = {
      appAllowed: this.counter('dapr_runtime_acl_app_policy_action_allowed_total', 'The number of requests allowed by the app specific action specified in the access control policy.', acl),
      appBlocked: this.counter('dapr_runtime_acl_app_policy_action_blocked_total', 'The number of requests blocked by the app specific action specified in the access control policy.', acl),
      globalAllowed: this.counter('dapr_runtime_acl_global_policy_action_allowed_total', 'The number of requests allowed by the global action specified in the access control policy.', acl),
      globalBlocked: this.counter('dapr_runtime_acl_global_policy_action_blocked_total', 'The number of requests blocked by the global action specified in the access control policy.', acl),
    };
    this.errorCodes = this.counter('dapr_error_code_total', 'Total number of times an error with a specific error code was encountered.', ['app_id', 'error_code', 'category']);
    // Layotto's grpc_metric stream filter (MOSN's grpcmetric), per full method.
    this.layotto = {
      requests: this.counter('grpc_request_total', 'Total gRPC requests.', ['service']),
      succeeded: this.counter('grpc_response_succ_total', 'Total successful gRPC responses.', ['service']),
      failed: this.counter('grpc_response_fail_total', 'Total failed gRPC responses.', ['service']),
      costTime: this.histogram('grpc_cost_time', 'gRPC request cost time in milliseconds.', ['service']),
    };
  }

  private readonly latency: number[];
  readonly http;
  readonly grpc;
  readonly component: Record<'state' | 'secret' | 'configuration' | 'output_binding', { count: Counter<(typeof COMPONENT)[number]>; latency: Histogram<(typeof COMPONENT)[number]> }>;
  readonly pubsub;
  readonly runtime;
  readonly invocation;
  readonly errorCodes;
  readonly acl;
  readonly layotto;

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[] = this.latency): Histogram<L> {
    return new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }

  /** Elapsed milliseconds since a process.hrtime.bigint() start. */
  static msSince(startNs: bigint): number {
    return Number(process.hrtime.bigint() - startNs) / 1e6;
  }
}
