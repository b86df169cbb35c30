// The Layotto face answers errors with Layotto's own codes and messages (toLayottoGrpc).
import { toLayottoGrpc } from '../../errors/to-grpc';
import { unaryWith } from '../grpc/handlers';

export { unimplementedHandler } from '../grpc/handlers';
export const unary = unaryWith(toLayottoGrpc);
