// Front-door limits of the public gRPC servers (Dapr and Layotto): daprd's keepalive settings
// (ping an idle client every 10 s, drop it when a ping goes unanswered for 5 s, GOAWAY a connection
// without calls for 3 min), a bound on how long a unary or server-streaming call may take to send
// its one request message, and a cap on open connections.
import type { Server as NetServer } from 'node:net';
import * as grpc from '@grpc/grpc-js';

export interface GrpcLimits {
  /** --read-request-timeout: a call whose request message has not fully arrived by then is ended (0: no bound). */
  readRequestTimeoutMs: number;
  /** --max-connections: connections beyond this many are closed at once (0: no cap). */
  maxConnections: number;
}

/** daprd's API server keepalive parameters (pkg/api/grpc/server.go). */
export const KEEPALIVE: grpc.ServerOptions = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.max_connection_idle_ms': 180_000,
};

/** Server options and the interceptors that enforce `l` (put before any others). */
export function grpcServerLimits(l: GrpcLimits): { options: grpc.ServerOptions; interceptors: grpc.ServerInterceptor[] } {
  return { options: KEEPALIVE, interceptors: l.readRequestTimeoutMs > 0 ? [requestReadBound(l.readRequestTimeoutMs)] : [] };
}

/**
 * Ends a call whose single request (unary and server streaming: one message then half-close) has not
 * arrived within `ms` of the call's start, so a client that opens calls and never sends cannot pin
 * them. Client and bidi streams send at their own pace and are not bounded here (keepalive still
 * finds a dead peer).
 */
export function requestReadBound(ms: number): grpc.ServerInterceptor {
  return (method, next) => {
    if (method.requestStream) return new grpc.ServerInterceptingCall(next);
    let timer: NodeJS.Timeout | undefined;
    const stop = () => {
      clearTimeout(timer);
      timer = undefined;
    };
    const call: grpc.ServerInterceptingCall = new grpc.ServerInterceptingCall(
      next,
      new grpc.ResponderBuilder()
        .withStart((start) => {
          timer = setTimeout(() => {
            timer = undefined;
            call.sendStatus({ code: grpc.status.DEADLINE_EXCEEDED, details: `the request message did not arrive within ${ms} ms (--read-request-timeout)` });
          }, ms);
          timer.unref();
          start(
            new grpc.ServerListenerBuilder()
              .withOnReceiveHalfClose((proceed) => {
                stop();
                proceed();
              })
              .withOnCancel(stop)
              .build(),
          );
        })
        .withSendStatus((status, proceed) => {
          stop();
          proceed(status);
        })
        .build(),
    );
    return call;
  };
}

interface GrpcServerInternals {
  /** grpc-js 1.14: one node http2 server per bound address. */
  http2Servers?: Map<NetServer, unknown>;
}

/**
 * Caps open connections on every address a grpc-js server listens on (call after bindAsync). grpc-js
 * has no option for it, so this sets node's net.Server.maxConnections on the http2 servers it keeps;
 * limits.test.ts fails loudly if an upgrade moves them.
 */
export function capConnections(server: grpc.Server, max: number): void {
  if (max <= 0) return;
  const servers = (server as unknown as GrpcServerInternals).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) throw new Error('--max-connections: @grpc/grpc-js keeps no http2Servers map any more; the gRPC connection cap cannot be set');
  for (const s of servers.keys()) s.maxConnections = max;
}
