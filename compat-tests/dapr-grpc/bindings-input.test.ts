// Input bindings on the built sidecar with a gRPC app (--app-protocol grpc), driven by the real
// @dapr/dapr SDK: the sidecar asks ListInputBindings, delivers through OnBindingEvent (cases in
// helpers/bindings.ts).
import { inputBindingCases } from '../helpers/bindings';

describe('Dapr gRPC input bindings via @dapr/dapr SDK (gRPC app)', () => {
  inputBindingCases('grpc');
});
