// InvokeBinding of dapr.proto.runtime.v1.Dapr, with daprd's metadata handling (see ../grpc/bindings).
import type * as grpc from '@grpc/grpc-js';
import type { BindingsCore } from '../../core/bindings';
import { invokeBindingHandler } from '../grpc/bindings';
import { unary } from './handlers';

export function bindingsHandlers(bindings: BindingsCore): grpc.UntypedServiceImplementation {
  return { InvokeBinding: invokeBindingHandler(bindings, unary, { daprMetadata: true }) };
}
