// One HTTP request through an http listener: route it, run the listener's filters (only when it
// has any: with none, no Exchange is built at all), then hand it to the route's cluster, whose
// call() picks endpoints and retries while the forwarder moves the bytes, and answer with the
// upstream's response or a local reply.
import type { Readable } from 'node:stream';
import type { FilterChain } from '../chain';
import type { Exchange, LocalReply } from '../filter';
import { CallSignal } from '../../core/call-signal';
import type { Cluster } from './cluster/types';
import type { Downstream } from './downstream';
import { type HeaderMap, upstreamRequestHeaders } from './headers';
import { FORBIDDEN_TARGET, GRPC, NO_ROUTE, type ProxyReply, replyFor } from './local-reply';
import type { CompiledRoute, Router } from './router';
import { hostOf } from './router';
import { NO_BODY, RequestBody, type Forwarder, type UpstreamRequest, type UpstreamResponse } from './upstream';

/** Request bodies up to this are kept for a route with retries, so a retry can send them again. */
export const REPLAY_LIMIT = 64 * 1024;

/** A cluster as the listeners use it. */
export interface ClusterEntry {
  cluster: Cluster;
  /** The forwarder for a request that came over h2c (true) or HTTP/1.1 (cluster.protocol 'auto' follows it). */
  forwarder(h2: boolean): Forwarder;
  /** Service invocation (appId clusters): HTTP only, retried by the app's Resiliency policies. */
  app: boolean;
}

/** Weighted clusters: entry i takes requests while a draw below `total` is under `upTo[i]`. */
export interface WeightedSplit {
  entries: ClusterEntry[];
  upTo: number[];
  total: number;
}

/** The target's cluster for one request. */
export function entryFor(t: RouteTarget): ClusterEntry {
  const s = t.split;
  if (s === undefined) return t.entry;
  const draw = Math.random() * s.total;
  for (let i = 0; i < s.upTo.length; i++) if (draw < s.upTo[i]!) return s.entries[i]!;
  return s.entries[s.entries.length - 1]!;
}

/** A route with what forwarding it needs, resolved once. */
export interface RouteTarget {
  route: CompiledRoute;
  /** The route's cluster (with weightedClusters: the first one; `split` picks per request). */
  entry: ClusterEntry;
  split?: WeightedSplit;
  /** Small bodies are buffered for retries. */
  replay: boolean;
  rewrite?: (path: string) => string;
  extraHeaders: boolean;
}

const GRPC_TO_APP: ProxyReply = {
  errorCode: 'NO_ROUTE',
  http: { status: 501, body: 'gRPC cannot be forwarded to an appId cluster', contentType: 'text/plain' },
  grpc: { code: GRPC.UNIMPLEMENTED, details: 'gRPC cannot be forwarded to an appId cluster' },
};
const FILTER_FAILED = (e: unknown): ProxyReply => ({
  errorCode: 'FILTER_ERROR',
  http: { status: 500, body: `filter error: ${(e as Error)?.message ?? e}`, contentType: 'text/plain' },
  grpc: { code: GRPC.INTERNAL, details: `filter error: ${(e as Error)?.message ?? e}` },
});

/** The prefixRewrite of a route, or undefined when it has none (it must match by path or pathPrefix). */
export function prefixRewriter(route: CompiledRoute): ((path: string) => string) | undefined {
  const to = route.config.prefixRewrite;
  if (to === undefined) return undefined;
  const from = route.config.match.pathPrefix ?? route.config.match.path ?? '';
  return (p) => to + p.slice(from.length);
}

function readAll(s: Readable, length: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.once('end', () => resolve(Buffer.concat(chunks, length)));
    s.once('error', () => resolve(undefined));
    s.once('close', () => resolve(undefined)); // after 'end' this is a no-op
  });
}

/** Header values a filter may have left undefined are dropped before they reach node:http. */
function defined(h: HeaderMap): Record<string, string | string[]> {
  for (const k in h) if (h[k] === undefined) delete h[k];
  return h as Record<string, string | string[]>;
}

export type FlowStats = { requests: number; active: number; noRoute: number; localReplies: number };

export class HttpFlow {
  /** Requests of this flow not finished yet (the listener's stats.active counts every flow's). */
  pending = 0;
  private readonly filtered: boolean;

  constructor(
    private readonly listener: string,
    readonly router: Router,
    readonly targets: readonly RouteTarget[],
    private readonly chain: FilterChain,
    /** Shared by the flows a listener had over updates, so its counters run on. */
    readonly stats: FlowStats = { requests: 0, active: 0, noRoute: 0, localReplies: 0 },
  ) {
    this.filtered = !chain.isEmpty('proxy');
  }

  /** `proxied`: an absolute-form (forward proxy) request, refused with 403 when no route takes its host. */
  handle(down: Downstream, proxied = false): void {
    this.stats.requests++;
    this.stats.active++;
    this.pending++;
    const host = hostOf(down.authority);
    const q = down.path.indexOf('?');
    const path = q < 0 ? down.path : down.path.slice(0, q);
    const route = this.router.match({ host, path, method: down.method, headers: down.headers, grpc: down.grpc });
    const noRoute = proxied ? FORBIDDEN_TARGET(down.authority) : NO_ROUTE;
    if (this.filtered) return void this.withFilters(down, host, path, route, noRoute);
    if (!route) return this.local(down, noRoute);
    const target = this.targets[route.index]!;
    this.forward(down, target, entryFor(target), upstreamRequestHeaders(down.headers, down.remoteAddress));
  }

  private local(down: Downstream, r: LocalReply | ProxyReply, ex?: Exchange): void {
    this.stats.localReplies++;
    const code = 'errorCode' in r ? r.errorCode : undefined;
    if (code === 'NO_ROUTE') this.stats.noRoute++;
    if (ex && code) ex.errorCode ??= code;
    down.onClose(() => {
      this.stats.active--;
      this.pending--;
      if (ex) this.complete(ex, down, NO_BODY);
    });
    down.reply(r);
  }

  private async withFilters(down: Downstream, host: string, path: string, route: CompiledRoute | undefined, noRoute: ProxyReply): Promise<void> {
    const target = route && this.targets[route.index]!;
    const entry = target && entryFor(target);
    const ex: Exchange = {
      api: 'proxy',
      protocol: down.grpc ? 'grpc' : 'http',
      verb: down.method,
      route: route?.name ?? '',
      path,
      headers: upstreamRequestHeaders(down.headers, down.remoteAddress),
      remoteAddress: down.remoteAddress,
      streaming: false,
      startNs: process.hrtime.bigint(),
      attrs: new Map(),
      proxy: { listener: this.listener, host, route: route?.name, cluster: entry?.cluster.name },
    };
    let verdict: LocalReply | undefined;
    try {
      verdict = await this.chain.request(ex);
    } catch (e) {
      verdict = FILTER_FAILED(e);
      ex.errorCode = 'FILTER_ERROR';
    }
    if (verdict || !target || !entry) return this.local(down, verdict ?? noRoute, ex);
    if (ex.run) return ex.run(() => this.forward(down, target, entry, defined(ex.headers), ex));
    return this.forward(down, target, entry, defined(ex.headers), ex);
  }

  /** Not async: a request without a body to buffer goes on without a promise (see send()). */
  private forward(down: Downstream, target: RouteTarget, entry: ClusterEntry, headers: Record<string, string | string[]>, ex?: Exchange): void {
    if (entry.app && down.grpc) return this.local(down, GRPC_TO_APP, ex);
    if (target.extraHeaders) Object.assign(headers, target.route.config.requestHeaders);
    if (down.bodyless) return this.send(down, target, entry, headers, NO_BODY, ex);
    if (target.replay && down.length !== undefined && down.length <= REPLAY_LIMIT) {
      void readAll(down.body, down.length).then((buffered) => {
        if (!buffered) return this.local(down, replyFor(new Error('the request body was cut off')), ex);
        this.send(down, target, entry, headers, new RequestBody(down.body, buffered), ex);
      });
      return;
    }
    this.send(down, target, entry, headers, new RequestBody(down.body, undefined, ex !== undefined), ex);
  }

  /** Through the cluster: with callbacks when its policy has no retry loop and no filter watches, else call()'s promise. */
  private send(down: Downstream, target: RouteTarget, entry: ClusterEntry, headers: Record<string, string | string[]>, body: RequestBody, ex?: Exchange): void {
    const cfg = target.route.config;
    const req: UpstreamRequest = { method: down.method, path: target.rewrite ? target.rewrite(down.path) : down.path, authority: cfg.hostRewrite ?? down.authority, headers, body, length: down.length, grpc: down.grpc, checked: ex === undefined && !target.extraHeaders };

    const gone = new CallSignal(); // an AbortController costs microseconds per request (see cluster/signal.ts)
    let res: UpstreamResponse | undefined;
    down.onClose((complete) => {
      this.stats.active--;
      this.pending--;
      if (res === undefined) gone.abort(new Error('the downstream request went away'));
      else if (!complete) res.abort();
      if (ex) this.complete(ex, down, body);
    });
    const fwd = entry.forwarder(down.h2);
    const proxy = ex?.proxy;
    const policy = { timeoutMs: cfg.timeout, retries: cfg.retries, resiliency: cfg.resiliency, replayable: body.replayable, signal: gone };
    const failed = (e: unknown): void => {
      const r = replyFor(e);
      if (ex) ex.errorCode = r.errorCode;
      this.stats.localReplies++;
      down.reply(r);
    };
    const answered = (r: UpstreamResponse): void => {
      res = r;
      if (proxy) proxy.upstreamStatus = r.status;
      down.respond(r);
    };
    const direct = fwd.attemptDirect;
    if (
      proxy === undefined &&
      direct !== undefined &&
      entry.cluster.callDirect?.<UpstreamResponse>(
        (ep, signal, ok, fail) => direct.call(fwd, req, ep, signal, ok, fail),
        policy,
        (e, r) => (r !== undefined ? answered(r) : failed(e)),
      )
    )
      return;
    let attempts = 0;
    entry.cluster
      .call(
        proxy
          ? (ep, signal) => {
              proxy.upstream = ep.address;
              proxy.retries = attempts++;
              return fwd.attempt(req, ep, signal);
            }
          : (ep, signal) => fwd.attempt(req, ep, signal),
        policy,
      )
      .then(answered, failed);
  }

  private complete(ex: Exchange, down: Downstream, body: RequestBody): void {
    ex.status = down.grpc ? (down.grpcStatus ?? 1) : down.status || 499;
    ex.requestBytes = body.bytes;
    ex.responseBytes = down.responseBytes;
    this.chain.response(ex);
  }
}
