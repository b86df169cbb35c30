// InvokeBinding of spec.proto.runtime.v1.Runtime: the request as sent, Layotto's error status.
import type * as grpc from '@grpc/grpc-js';
import type { BindingsCore } from '../../core/bindings';
import { invokeBindingHandler } from '../grpc/bindings';
import { unary } from './handlers';

export function bindingsHandlers(bindings: BindingsCore): grpc.UntypedServiceImplementation {
  return { InvokeBinding: invokeBindingHandler(bindings, unary) };
}
