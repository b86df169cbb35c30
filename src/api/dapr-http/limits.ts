// Front-door limits of the Dapr HTTP server (one place for the fastify server and the extra
// listeners of --dapr-listen-addresses): header size (daprd's --read-buffer-size), how long a client
// may take to send its headers and its whole request, how long an idle keep-alive connection stays,
// and how many connections may be open. Oversized or too-slow requests get Go's net/http answers
// (431, 408: client-error.ts) and the connection is closed; nothing reaches a handler.
import type { Server, ServerOptions } from 'node:http';

export interface HttpLimits {
  /** --read-buffer-size: request line and header bytes (Go lets 4 KiB of bufio slop through on top, as here). */
  readBufferSize: number;
  /** --read-header-timeout: from a request's first byte to the end of its headers (daprd's ReadHeaderTimeout). */
  readHeaderTimeoutMs: number;
  /** --read-request-timeout: from a request's first byte until its body is fully received. */
  readRequestTimeoutMs: number;
  /** --keep-alive-timeout: an idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
  /** --max-connections: connections beyond this many are closed at once (0: no cap). */
  maxConnections: number;
}

/** Go's net/http reads up to MaxHeaderBytes + 4096 ("bufio slop") before answering 431. */
const GO_HEADER_SLOP = 4096;

/**
 * node:http options (constructor-only ones included). The timeouts are enforced by node's periodic
 * connection check, run often enough that a timeout overshoots by at most a quarter of itself.
 */
export function httpServerOptions(l: HttpLimits): ServerOptions {
  const shortest = Math.min(...[l.readHeaderTimeoutMs, l.readRequestTimeoutMs].filter((t) => t > 0), 120_000);
  return {
    maxHeaderSize: l.readBufferSize + GO_HEADER_SLOP,
    headersTimeout: l.readHeaderTimeoutMs,
    requestTimeout: l.readRequestTimeoutMs,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.floor(shortest / 4)),
  };
}

/** The settings node:http lets change after construction (fastify overwrites some of them). */
export function applyHttpLimits(server: Server, l: HttpLimits): void {
  server.headersTimeout = l.readHeaderTimeoutMs;
  server.requestTimeout = l.readRequestTimeoutMs;
  server.keepAliveTimeout = l.keepAliveTimeoutMs;
  if (l.maxConnections > 0) server.maxConnections = l.maxConnections;
}
