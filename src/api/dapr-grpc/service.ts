// dapr.proto.runtime.v1.Dapr on a grpc-js server. Every rpc of the loaded service definition gets a
// handler: the building blocks implemented here, UNIMPLEMENTED (naming the rpc) for all others, so
// rpcs added by a newer @dapr/dapr are covered without a code change.
import type * as grpc from '@grpc/grpc-js';
import type { Core } from '../../core';
import { unary, unimplementedHandler } from './handlers';
import { configurationHandlers } from './configuration';
import { lockHandlers } from './lock';
import { metadataHandlers } from './metadata';
import { daprServiceDefinition } from './protos';
import { secretsHandlers } from '../grpc/secrets';
import { stateHandlers } from './state';
import { pubsubHandlers } from './pubsub';
import { invokeHandlers } from './invoke';
import { bindingsHandlers } from './bindings';

export function daprServiceImplementation(core: Core): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [name, def] of Object.entries(daprServiceDefinition)) impl[name] = unimplementedHandler(name, def);
  const implemented = { ...stateHandlers(core.state), ...metadataHandlers(core.metadata), ...secretsHandlers(core.secrets, unary), ...lockHandlers(core.lock), ...configurationHandlers(core.configuration), ...pubsubHandlers(core.pubsub), ...invokeHandlers(core.invoke), ...bindingsHandlers(core.bindings) };
  for (const [name, handler] of Object.entries(implemented)) {
    // A handler for an rpc the protos lack would be silently ignored by grpc-js: fail at startup.
    if (!(name in daprServiceDefinition)) throw new Error(`Dapr gRPC handler ${name} matches no rpc of the loaded protos`);
    impl[name] = handler;
  }
  return impl;
}

export function addDaprService(server: grpc.Server, core: Core): void {
  server.addService(daprServiceDefinition, daprServiceImplementation(core));
}
