// HTTP/1.1 to a cluster's endpoints: one Http1Pool per endpoint (at most maxConnections sockets,
// idle ones kept for keepAlive, most recently used first so the spare ones age out). The request
// body goes out only once a connection is up: a refused connection leaves it unread, so the
// cluster may still try another endpoint with it.
import type { ClusterConfig } from './config';
import type { AttemptResult, Endpoint } from './cluster/types';
import { Http1Pool } from './http1-pool';
import { attemptResult, type Forwarder, type UpstreamRequest, type UpstreamResponse } from './upstream';

export class Http1Forwarder implements Forwarder {
  private readonly pools = new Map<string, Http1Pool>();

  constructor(private readonly config: ClusterConfig) {}

  attempt(req: UpstreamRequest, ep: Endpoint, signal: AbortSignal): Promise<AttemptResult<UpstreamResponse>> {
    return this.pool(ep).request(req, signal).then(attemptResult);
  }

  attemptDirect(req: UpstreamRequest, ep: Endpoint, signal: AbortSignal, ok: (r: AttemptResult<UpstreamResponse>) => void, fail: (e: unknown) => void): void {
    this.pool(ep).send(req, signal, (res) => ok(attemptResult(res)), fail);
  }

  close(): void {
    for (const p of this.pools.values()) p.close();
    this.pools.clear();
  }

  retain(addresses: ReadonlySet<string>): void {
    for (const [address, p] of this.pools) {
      if (addresses.has(address)) continue;
      this.pools.delete(address);
      p.drain();
    }
  }

  private pool(ep: Endpoint): Http1Pool {
    let p = this.pools.get(ep.address);
    if (!p) {
      p = new Http1Pool(ep.host, ep.port, { maxConnections: this.config.maxConnections, keepAliveMs: this.config.keepAlive, connectTimeoutMs: this.config.connectTimeout });
      this.pools.set(ep.address, p);
    }
    return p;
  }
}
