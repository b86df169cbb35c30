// The Layotto gRPC face: spec.proto.runtime.v1.Runtime and Lifecycle on a grpc-js server, loaded
// from our own protos (proto/layotto). Hello, State, Lock, Secrets, Sequencer, Configuration, PubSub, InvokeService, InvokeBinding and File are served through the core; every other
// rpc, enumerated from the loaded service definition, answers UNIMPLEMENTED naming itself.
import type * as grpc from '@grpc/grpc-js';
import type { Core } from '../../core';
import { unary, unimplementedHandler } from './handlers';
import type * as M from './messages';
import { configurationHandlers } from './configuration';
import { lockHandlers } from './lock';
import { loadLayottoDefinition, PACKAGE } from './protos';
import { secretsHandlers } from '../grpc/secrets';
import { sequencerHandlers } from './sequencer';
import { stateHandlers } from './state';
import { pubsubHandlers } from './pubsub';
import { invokeHandlers } from './invoke';
import { lifecycleHandlers } from './lifecycle';
import { addExtensionServices } from './extensions';
import { fileHandlers } from './file';
import { bindingsHandlers } from './bindings';

function helloHandlers(core: Core): grpc.UntypedServiceImplementation {
  return {
    SayHello: unary(async (req: M.SayHelloRequest): Promise<M.SayHelloResponse> => {
      const hello = await core.hello.sayHello(req.service_name, req.name);
      // data is echoed untouched (Layotto uses it to size load-test payloads).
      return { hello, data: req.data };
    }),
  };
}

/** The given handlers, plus UNIMPLEMENTED for every other rpc of the service. */
function complete(def: grpc.ServiceDefinition, handlers: grpc.UntypedServiceImplementation): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [rpc, method] of Object.entries(def)) impl[rpc] = handlers[rpc] ?? unimplementedHandler(rpc, method);
  return impl;
}

export function addLayottoServices(server: grpc.Server, core: Core): void {
  const pkg = loadLayottoDefinition();
  const runtime = pkg[`${PACKAGE}.Runtime`] as grpc.ServiceDefinition;
  const lifecycle = pkg[`${PACKAGE}.Lifecycle`] as grpc.ServiceDefinition;
  server.addService(runtime, complete(runtime, { ...helloHandlers(core), ...stateHandlers(core.state), ...secretsHandlers(core.secrets, unary), ...lockHandlers(core.lock), ...configurationHandlers(core.configuration), ...sequencerHandlers(core.sequencer), ...pubsubHandlers(core.pubsub), ...invokeHandlers(core.invoke), ...bindingsHandlers(core.bindings), ...fileHandlers(core.file) }));
  server.addService(lifecycle, complete(lifecycle, lifecycleHandlers(core.lifecycle)));
  addExtensionServices(server);
}
