// The Dapr face answers errors with daprd's status and google.rpc details (toGrpc).
import { toGrpc } from '../../errors/to-grpc';
import { unaryWith } from '../grpc/handlers';

export { unimplementedHandler } from '../grpc/handlers';
export const unary = unaryWith(toGrpc);
