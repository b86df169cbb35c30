// dapr.proto.internals.v1.ServiceInvocation (the sidecar-to-sidecar service), loaded from the
// pinned @dapr/dapr package like the public API (src/api/dapr-grpc/protos.ts).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { LOADER_OPTIONS } from '../../api/dapr-grpc/protos';

export const SERVICE_INVOCATION = 'dapr.proto.internals.v1.ServiceInvocation';

const definition = protoLoader.loadSync('dapr/proto/internals/v1/service_invocation.proto', LOADER_OPTIONS);

export const serviceInvocationDefinition = definition[SERVICE_INVOCATION] as grpc.ServiceDefinition;

export const ServiceInvocationClient: grpc.ServiceClientConstructor = grpc.makeClientConstructor(serviceInvocationDefinition, 'ServiceInvocation');
