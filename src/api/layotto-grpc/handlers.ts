// Handler wrappers for the Layotto face: every rpc ends with a status, whatever its shape. Errors
// go through toLayottoGrpc (Layotto's own codes/messages from errors/codes.ts); rpcs without a
// building block answer UNIMPLEMENTED naming the rpc, so no client ever hangs.
import type * as grpc from '@grpc/grpc-js';
import { toLayottoGrpc, unimplemented } from '../../errors/to-grpc';

/** A unary rpc written as request -> response; a throw or rejection becomes its status. */
export function unary<Req, Res>(fn: (req: Req) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    new Promise<Res>((resolve) => resolve(fn(call.request))).then(
      (res) => answer(callback, null, res),
      (e: unknown) => answer(callback, toLayottoGrpc(e)),
    );
  };
}

function answer<Res>(callback: grpc.sendUnaryData<Res>, err: grpc.ServiceError | null, res?: Res): void {
  try {
    if (err) callback(err);
    else callback(null, res);
  } catch {
    // The call is already gone (cancelled or past its deadline): nobody is left to answer.
  }
}

/** UNIMPLEMENTED for any rpc shape: unary/client-stream through the callback, streams via 'error'. */
export function unimplementedHandler(rpc: string, def: grpc.MethodDefinition<unknown, unknown>): grpc.UntypedHandleCall {
  if (def.responseStream) {
    return (call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>) => {
      call.emit('error', unimplemented(rpc));
    };
  }
  return (_call: unknown, callback: grpc.sendUnaryData<unknown>) => answer(callback, unimplemented(rpc));
}
