// A cluster named by app id: requests go through the sidecar's service invocation (name
// resolution, the sidecar-to-sidecar hop, the Resiliency policies for the app), injected by the
// wiring as a function so the mesh layer does not import the core. Balancing and health are the
// name resolver's and the target sidecars' business here: the cluster has no endpoints of its own,
// runs each request once under the route's deadline, and only counts.
import { Readable } from 'node:stream';
import type { ClusterConfig } from './config';
import { type AttemptResult, type CallPolicy, type Cluster, type ClusterSnapshot, type Endpoint, UpstreamError, UpstreamTimeoutError } from './cluster/types';
import { endToEnd } from './headers';
import { attemptResult, type Forwarder, responseIsGrpc, type UpstreamRequest, type UpstreamResponse } from './upstream';

/** The invocation request, as the core's service invocation takes it (header values as lists). */
export interface AppInvokeRequest {
  appId: string;
  /** The path after the host, without its leading slash and query. */
  method: string;
  verb: string;
  query: string;
  headers: Record<string, string[]>;
  contentType: string;
  body: Readable;
  length?: number;
}

export interface AppInvokeResponse {
  status: number;
  headers: Record<string, string[]>;
  contentType: string;
  body: Readable;
  trailers?: Record<string, string[]>;
}

/** core.invoke.invoke, or anything shaped like it. Rejects when the app cannot be reached. */
export type AppInvoke = (req: AppInvokeRequest, signal?: AbortSignal) => Promise<AppInvokeResponse>;

export class AppCluster implements Cluster {
  readonly name: string;
  private readonly endpoint: Endpoint;
  private readonly stats = { requests: 0, timeouts: 0, failures: 0 };

  constructor(readonly config: ClusterConfig) {
    this.name = config.name;
    this.endpoint = { host: config.appId!, port: 0, address: config.appId!, weight: 1, active: 0 };
  }

  pick(): Endpoint {
    return this.endpoint;
  }

  async call<T>(attempt: (ep: Endpoint, signal: AbortSignal) => Promise<AttemptResult<T>>, policy: CallPolicy): Promise<T> {
    const ep = this.endpoint;
    this.stats.requests++;
    ep.active++;
    const ctl = new AbortController();
    const timer = policy.timeoutMs > 0 ? setTimeout(() => ctl.abort(new UpstreamTimeoutError(policy.timeoutMs)), policy.timeoutMs) : undefined;
    const onDown = () => ctl.abort(new UpstreamError('reset', 'the downstream request went away'));
    policy.signal?.addEventListener('abort', onDown, { once: true });
    try {
      return (await attempt(ep, ctl.signal)).value;
    } catch (e) {
      if (ctl.signal.aborted) {
        if (ctl.signal.reason instanceof UpstreamTimeoutError) this.stats.timeouts++;
        throw ctl.signal.reason;
      }
      this.stats.failures++;
      throw e instanceof UpstreamError ? e : new UpstreamError('connect-failure', (e as Error).message, e);
    } finally {
      ep.active--;
      if (timer) clearTimeout(timer);
      policy.signal?.removeEventListener('abort', onDown);
    }
  }

  snapshot(): ClusterSnapshot {
    const s = this.stats;
    return {
      name: this.name,
      lbPolicy: this.config.lbPolicy,
      appId: this.config.appId,
      endpoints: [],
      stats: { requests: s.requests, active: this.endpoint.active, retries: 0, timeouts: s.timeouts, ejections: 0, noHealthy: 0, breakerOpen: false },
    };
  }

  close(): void {}
}

const listed = (h: Record<string, string | string[]>): Record<string, string[]> => {
  const out: Record<string, string[]> = {};
  for (const k in h) out[k] = ([] as string[]).concat(h[k]!);
  return out;
};

const single = (h: Record<string, string[]>): Record<string, string | string[]> => {
  const out: Record<string, string | string[]> = {};
  for (const k in h) out[k] = k === 'set-cookie' || h[k]!.length !== 1 ? h[k]! : h[k]![0]!;
  return out;
};

export class AppForwarder implements Forwarder {
  constructor(private readonly invoke: AppInvoke) {}

  async attempt(req: UpstreamRequest, ep: Endpoint, signal: AbortSignal): Promise<AttemptResult<UpstreamResponse>> {
    const q = req.path.indexOf('?');
    const body = req.body.buffered !== undefined ? Readable.from([req.body.buffered]) : req.body.stream !== undefined ? req.body.take() : Readable.from([]);
    const headers = listed(req.headers);
    delete headers.host;
    const res = await this.invoke(
      {
        appId: ep.host,
        method: (q < 0 ? req.path : req.path.slice(0, q)).replace(/^\/+/, ''),
        verb: req.method,
        query: q < 0 ? '' : req.path.slice(q + 1),
        headers,
        contentType: typeof req.headers['content-type'] === 'string' ? req.headers['content-type'] : '',
        body,
        length: req.body.buffered?.length ?? req.length,
      },
      signal,
    );
    const out = endToEnd(single(res.headers));
    if (res.contentType && out['content-type'] === undefined) out['content-type'] = res.contentType;
    const trailers = res.trailers && Object.keys(res.trailers).length > 0 ? single(res.trailers) : undefined;
    return attemptResult({
      status: res.status,
      headers: out,
      body: res.body,
      endAfterHeaders: false,
      grpc: responseIsGrpc(out),
      trailers: () => trailers,
      abort: () => res.body.destroy(),
      discard: () => res.body.destroy(),
    });
  }

  close(): void {}
}
