// The Dapr protos, loaded once at startup from the pinned @dapr/dapr package (see proto/dapr/README.md):
// the wire contract is whatever that package ships, so nothing is copied into this repo.
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** Directory holding `dapr/proto/**` and `google/protobuf/**` inside @dapr/dapr. */
export const DAPR_PROTO_DIR = path.join(path.dirname(require.resolve('@dapr/dapr/package.json')), 'proto');
export const DAPR_PROTO_FILE = 'dapr/proto/runtime/v1/dapr.proto';
export const DAPR_SERVICE = 'dapr.proto.runtime.v1.Dapr';

/**
 * keepCase: field names as in the .proto (store_name; the proto itself spells a few camelCase,
 * e.g. ExecuteStateTransactionRequest.storeName). enums as strings: 'CONCURRENCY_FIRST_WRITE' reads
 * better than 1 and unknown numbers still come through as numbers. bytes stay Buffers (verbatim
 * values). defaults: absent scalars/maps/lists read as ''/{}/[] while absent messages stay null, so
 * "no etag" and "etag with empty value" remain distinguishable, as in daprd.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [DAPR_PROTO_DIR],
};

export const daprPackageDefinition: protoLoader.PackageDefinition = protoLoader.loadSync(DAPR_PROTO_FILE, LOADER_OPTIONS);

/** The service definition of dapr.proto.runtime.v1.Dapr: one entry per rpc, keyed by rpc name. */
export const daprServiceDefinition = daprPackageDefinition[DAPR_SERVICE] as grpc.ServiceDefinition;

/** A grpc-js client constructor for the same service (tests, tools). */
export function daprClientConstructor(): grpc.ServiceClientConstructor {
  return grpc.makeClientConstructor(daprServiceDefinition, 'Dapr');
}
