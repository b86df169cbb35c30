// Front-door limits of the public gRPC servers (Dapr and Layotto): daprd's keepalive settings
// (ping an idle client every 10 s, drop it when a ping goes unanswered for 5 s, GOAWAY a connection
// without calls for 3 min), a bound on how long a unary or server-streaming call may take to send
// its one request message, a cap on open connections, and daprd's cap on a call's header list.
import type { Server as NetServer } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { screenStreams, setMaxHeaderListSize } from '../grpc-proxy/grpc-js-hook';
import { trailersOnly } from '../grpc-proxy/status';

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

/** HTTP/2's size of a header list (RFC 9113 §6.5.2): each field's name and value plus 32 bytes. */
export function headerListSize(raw: readonly string[]): number {
  let size = 0;
  for (let i = 0; i + 1 < raw.length; i += 2) size += Buffer.byteLength(raw[i]!) + Buffer.byteLength(raw[i + 1]!) + 32;
  return size;
}

/**
 * daprd's gRPC servers (API and internal) take header lists up to --read-buffer-size
 * (grpc.MaxHeaderListSize(ReadBufferSizeKB<<10), 4 KiB by default). grpc-go resets a larger one's
 * stream; here it gets a status that says why: RESOURCE_EXHAUSTED, the limit named, the connection
 * kept. The sessions advertise and enforce a higher bound (twice the limit, at least node's 64 KiB)
 * so lists between the two reach this check; past that bound node resets the stream itself.
 * Call after the server's other stream hooks (the proxy's) and before bindAsync, so this runs first.
 */
export function capHeaderList(server: grpc.Server, max: number): void {
  if (max <= 0) return;
  setMaxHeaderListSize(server, Math.max(2 * max, 65_535));
  screenStreams(server, (stream, _headers, raw) => {
    const size = headerListSize(raw);
    if (size <= max) return false;
    stream.on('error', () => undefined);
    if (!stream.destroyed) stream.respond(trailersOnly(grpc.status.RESOURCE_EXHAUSTED, `header list of ${size} bytes exceeds the maximum size (${max} bytes, --read-buffer-size)`), { endStream: true });
    return true;
  });
}
