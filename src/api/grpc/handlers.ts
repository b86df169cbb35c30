// Handler wrappers shared by the gRPC faces: every rpc answers with a status, whatever happens.
// A rejected core call becomes the face's own error status (Dapr or Layotto); an rpc without a
// building block answers UNIMPLEMENTED naming it, whatever its streaming shape, so a client never
// hangs and the process never sees an unhandled rejection.
import type * as grpc from '@grpc/grpc-js';
import { unimplemented } from '../../errors/to-grpc';
import type { BulkGetItem } from '../../components/state/types';

export type ToStatus = (e: unknown) => grpc.ServiceError;

/** Builds the face's `unary(fn, after?)`: request -> response; throws and rejections become a status. */
export function unaryWith(toStatus: ToStatus) {
  return function unary<Req, Res>(fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res, after?: () => void): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      new Promise<Res>((resolve) => resolve(fn(call.request, call))).then(
        (res) => {
          answer(callback, null, res);
          try {
            after?.();
          } catch {
            // A follow-up (e.g. starting shutdown) must not turn into an unhandled rejection.
          }
        },
        (e: unknown) => answer(callback, toStatus(e)),
      );
    };
  };
}

/** Answers a unary or client-stream call; a call that is already gone (cancelled) is left alone. */
export function answer<Res>(callback: grpc.sendUnaryData<Res>, err: grpc.ServiceError | null, res?: Res): void {
  try {
    if (err) callback(err);
    else callback(null, res);
  } catch {
    // The call is already gone (cancelled, deadline): there is no one left to answer.
  }
}

/** UNIMPLEMENTED for any rpc shape: unary and client-stream via the callback, streams via 'error'. */
export function unimplementedHandler(name: string, def: grpc.MethodDefinition<unknown, unknown>): grpc.UntypedHandleCall {
  if (def.responseStream) {
    return (call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>) => {
      call.emit('error', unimplemented(name));
    };
  }
  return (_call: unknown, callback: grpc.sendUnaryData<unknown>) => answer(callback, unimplemented(name));
}

/** A bulk-get item in the wire shape both Dapr's and Layotto's BulkStateItem share. */
export const bulkItemOut = (it: BulkGetItem) => ({
  key: it.key,
  data: it.data ?? Buffer.alloc(0),
  etag: it.etag ?? '',
  error: it.error ?? '',
  metadata: it.metadata ?? {},
});
