import { createServer } from 'node:http';
import { applyHttpLimits, httpServerOptions } from './limits';

const limits = { readBufferSize: 4096, readHeaderTimeoutMs: 10_000, readRequestTimeoutMs: 300_000, keepAliveTimeoutMs: 72_000, maxConnections: 0 };

describe('Dapr HTTP front-door limits', () => {
  it("lets Go's 4 KiB of bufio slop through on top of --read-buffer-size and checks timeouts at a quarter of the shortest", () => {
    expect(httpServerOptions(limits)).toEqual({ maxHeaderSize: 8192, headersTimeout: 10_000, requestTimeout: 300_000, keepAliveTimeout: 72_000, connectionsCheckingInterval: 2500 });
    expect(httpServerOptions({ ...limits, readHeaderTimeoutMs: 100, readRequestTimeoutMs: 0 }).connectionsCheckingInterval).toBe(50);
    expect(httpServerOptions({ ...limits, readHeaderTimeoutMs: 0, readRequestTimeoutMs: 0 }).connectionsCheckingInterval).toBe(30_000);
  });

  it('sets what fastify would overwrite, and the connection cap only when there is one', () => {
    const server = createServer();
    server.requestTimeout = 0;
    applyHttpLimits(server, limits);
    expect([server.headersTimeout, server.requestTimeout, server.keepAliveTimeout]).toEqual([10_000, 300_000, 72_000]);
    expect(server.maxConnections).toBeUndefined();
    applyHttpLimits(server, { ...limits, maxConnections: 3 });
    expect(server.maxConnections).toBe(3);
  });
});
