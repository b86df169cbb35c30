// Pieces of Layotto's config.json for suites that start a sidecar with `start -c`.

/** The runtime listener: a `grpc` filter named "runtime" holding `grpcConfig`, on 127.0.0.1:<port>. */
export function runtimeListener(port: number, grpcConfig: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'grpc',
    address: `127.0.0.1:${port}`,
    filter_chains: [{ filters: [{ type: 'grpc', config: { server_name: 'runtime', grpc_config: grpcConfig } }] }],
    ...extra,
  };
}
