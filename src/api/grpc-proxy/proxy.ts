// gRPC proxying (daprd's proxy director): a call on the Dapr gRPC port for a method the sidecar
// does not serve, carrying dapr-app-id, goes unchanged to that app's own gRPC server — this
// sidecar's app over the app port, any other app through its sidecar's internal port, where the
// same hook hands it to that sidecar's app. Any service, any method, any streaming shape.
// Resiliency (targets.apps) applies to calls to other apps as daprd applies it: a unary call runs
// whole under the policies, its request kept for a retry; a call marked `dapr-stream: true` only
// for the handshake (finding and connecting to the target).
import type { OutgoingHttpHeaders, SecureClientSessionOptions, ServerHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { NoAddressError } from '../../components/nameresolution/types';
import { joinHostPort } from '../../components/nameresolution/address';
import { normalizeMethod } from '../../core/invoke/method';
import { BodyNotReplayableError, ReplayableBody } from '../../core/invoke/replay';
import type { ResolvedAddress } from '../../core/invoke/types';
import { CircuitBreakerOpenError, permanent, ResiliencyTimeoutError, StatusCodeError, unwrapPermanent } from '../../core/resiliency/errors';
import { NO_RESILIENCY, type Resiliency } from '../../core/resiliency/types';
import { errMessage } from '../../errors/runtime-error';
import { divertUnknownMethods } from './grpc-js-hook';
import { Downstream, exchange } from './exchange';
import { endToEnd, first, type HeaderMap, headerMap, outgoing } from './headers';
import { toApp, toSidecar } from './metadata';
import { anyOf } from '../../core/signals';
import { ProxyError, trailersOnly } from './status';
import { type UpstreamTls, Upstreams } from './upstreams';

const { status } = grpc;

/** Finds another app's sidecar (its internal gRPC address) through name resolution. */
export type Locate = (appId: string, namespace: string, signal: AbortSignal) => Promise<ResolvedAddress>;

export interface GrpcProxyOptions {
  appId: string;
  namespace: string;
  /** This sidecar's app (undefined without --app-port). */
  app?: { address: string; port: number; protocol: string; apiToken?: string };
  resiliency?: Resiliency;
  /** Bytes of a unary request kept so a retry can send it again (default 4 MiB). */
  replayLimit?: number;
  /** Largest gRPC message either way (--max-body-size, as daprd's proxy holds calls to it; 0: no limit). */
  maxMessageBytes?: number;
  /**
   * Runs first on every call the app makes on the Dapr gRPC port (the API token, as daprd's stream
   * interceptors run before its proxy handler): a refusal is the caller's answer.
   */
  admit?: (h: HeaderMap) => Refusal | undefined;
  /**
   * --max-concurrent-requests: a proxied call from the app holds a slot of the API servers' own
   * count until its stream closes; with none free it is refused as the filter chain refuses.
   */
  inFlight?: { hold(): (() => void) | undefined; readonly refusal: { grpc: Refusal } };
  /** How long connecting to a target may take (default 5 s). */
  connectTimeoutMs?: number;
  /** mTLS towards other apps' sidecars: the TLS options that prove this sidecar and check that one. */
  sidecarTls?: (appId: string, namespace: string) => SecureClientSessionOptions;
  /**
   * Access control for calls to this sidecar's app (daprd checks its ACL on every proxied call it
   * delivers locally): the denial, answered PERMISSION_DENIED, or undefined when allowed. `headers`
   * name the caller as the app will see it; `socket` is the connection the call came on.
   */
  authorize?: (call: { method: string; headers: HeaderMap; from: ProxyOrigin; socket: unknown }) => string | undefined;
  log?: Logger;
}

/** A status the proxy answers with instead of proxying; `trailers` may carry -bin values. */
export interface Refusal {
  code: number;
  details: string;
  trailers?: Record<string, string | Buffer>;
}

/** Where the streams come from: the app (the Dapr gRPC port) or other sidecars (the internal port). */
export type ProxyOrigin = 'app' | 'sidecar';

const TRUTHY = new Set(['y', 'yes', 'true', 't', 'on', '1']);

export class GrpcProxy {
  private readonly upstreams: Upstreams;
  private locate?: Locate;
  private readonly resiliency: Resiliency;

  constructor(private readonly opts: GrpcProxyOptions) {
    this.upstreams = new Upstreams({ connectTimeoutMs: opts.connectTimeoutMs ?? 5000 });
    this.resiliency = opts.resiliency ?? NO_RESILIENCY;
  }

  /** Name resolution, once the sidecar-to-sidecar layer is up (until then other apps are unreachable). */
  setLocate(locate: Locate | undefined): void {
    this.locate = locate;
  }

  /** Takes over the server's streams for methods it does not serve that name a target app. Before bindAsync. */
  attach(server: grpc.Server, from: ProxyOrigin): void {
    // The app names its target with dapr-app-id; a sidecar also stamps dapr-callee-app-id, which
    // the internal port goes by first (daprd reads the callee header first on both).
    const keys = from === 'app' ? ['dapr-app-id', 'dapr-callee-app-id'] : ['dapr-callee-app-id', 'dapr-app-id'];
    const admit = from === 'app' ? this.opts.admit : undefined;
    const limit = from === 'app' ? this.opts.inFlight : undefined;
    divertUnknownMethods(server, (stream, _headers, raw) => {
      const h = headerMap(raw);
      const refused = admit?.(h);
      if (refused) {
        new Downstream(stream).respondOnly({ ...trailersOnly(refused.code, refused.details), ...binary(refused.trailers) });
        return true;
      }
      const id = keys.map((k) => first(h, k)).find((v) => v !== undefined && v !== '');
      if (id === undefined) return false; // grpc-js answers UNIMPLEMENTED, as before
      if (limit) {
        const release = limit.hold();
        if (!release) {
          new Downstream(stream).respondOnly(trailersOnly(limit.refusal.grpc.code, limit.refusal.grpc.details));
          return true;
        }
        stream.once('close', release);
      }
      void this.proxy(stream, h, id, from);
      return true;
    });
  }

  close(): void {
    this.upstreams.close();
  }

  private async proxy(stream: ServerHttp2Stream, h: HeaderMap, id: string, from: ProxyOrigin): Promise<void> {
    const down = new Downstream(stream);
    try {
      const parts = id.split('.');
      if (parts.length > 2 || !parts[0]) throw new ProxyError(status.INVALID_ARGUMENT, `failed to proxy request: invalid app id ${JSON.stringify(id)}`);
      const [appId, namespace = this.opts.namespace] = parts as [string, string?];
      if (appId === this.opts.appId && namespace === this.opts.namespace) await this.toOwnApp(down, h, from);
      else if (from === 'app') await this.toOtherApp(down, h, appId, namespace);
      // Another sidecar took this one for the target (a stale name entry): relaying on could loop.
      else throw new ProxyError(status.UNAVAILABLE, `failed to proxy request: this sidecar serves app ${this.opts.appId}, not ${id}`);
    } catch (e) {
      answerFailure(down, e, this.opts.log);
    }
  }

  /** This sidecar's app, over the app port (no policies: daprd applies them to remote targets only). */
  private async toOwnApp(down: Downstream, h: HeaderMap, from: ProxyOrigin): Promise<void> {
    const app = this.opts.app;
    if (!app) throw new ProxyError(status.INTERNAL, 'failed to proxy request: app channel is not initialized (the sidecar has no --app-port)');
    const protocol = app.protocol.toLowerCase();
    if (protocol === 'http' || protocol === 'https') throw new ProxyError(status.INTERNAL, `failed to proxy request: the app speaks ${protocol} (--app-protocol); gRPC proxying needs grpc, grpcs or h2c`);
    const path = first(h, ':path') ?? '';
    let method: string;
    try {
      method = normalizeMethod(path);
    } catch (e) {
      throw new ProxyError(status.INVALID_ARGUMENT, errMessage(e));
    }
    const origin = `${protocol === 'grpcs' ? 'https' : 'http'}://${joinHostPort(app.address, app.port)}`;
    const md = toApp(h, { from, appId: this.opts.appId, namespace: this.opts.namespace, appApiToken: app.apiToken });
    const denied = this.opts.authorize?.({ method: `/${method}`, headers: md, from, socket: down.stream.session?.socket });
    if (denied !== undefined) throw new ProxyError(status.PERMISSION_DENIED, denied);
    await this.forward({ down, h, md }, origin, down.stream, down.gone);
  }

  private async toOtherApp(down: Downstream, h: HeaderMap, appId: string, namespace: string): Promise<void> {
    const locate = this.locate;
    if (!locate) throw new ProxyError(status.UNAVAILABLE, 'failed to proxy request: proxy not initialized; daprd startup may be incomplete');
    const policyId = namespace === this.opts.namespace ? appId : `${appId}.${namespace}`;
    const endpoint = `${policyId}:${first(h, ':path') ?? ''}`;
    const tls = this.opts.sidecarTls && { id: `${namespace}/${appId}`, options: this.opts.sidecarTls(appId, namespace) };
    const call: RemoteCall = {
      down,
      h,
      md: toSidecar(h, { appId: this.opts.appId, namespace: this.opts.namespace }, appId),
      ...(tls ? { tls } : {}),
      find: async (signal) => {
        try {
          const to = await locate(appId, namespace, signal);
          return `${tls ? 'https' : 'http'}://${joinHostPort(to.host, to.port)}`;
        } catch (e) {
          throw e instanceof NoAddressError ? new ProxyError(status.UNAVAILABLE, `failed to proxy request: couldn't find app ${policyId}: ${e.message}`) : e;
        }
      },
    };
    // Each try gets the policy's signal and the caller's, detached again when it is over.
    const underPolicy = <T>(op: (stop: AbortSignal) => Promise<T>) =>
      this.resiliency.app(
        policyId,
        async (signal) => {
          const stop = anyOf(signal, down.gone);
          try {
            return await op(stop.signal);
          } finally {
            stop.dispose();
          }
        },
        endpoint,
      );

    if (TRUTHY.has((first(h, 'dapr-stream') ?? '').toLowerCase())) {
      // A stream may live for long: the policies cover finding and connecting to the target only.
      const origin = await underPolicy(async (stop) => {
        const o = await call.find(stop);
        await this.upstreams.session(o, stop, call.tls);
        return o;
      });
      return this.forward(call, origin, down.stream, down.gone);
    }
    const body = new ReplayableBody(down.stream, this.opts.replayLimit ?? 4 * 1024 * 1024);
    try {
      await underPolicy(async (stop) => {
        let sent: Readable;
        try {
          sent = body.open();
        } catch (e) {
          throw permanent(e); // the request streamed past what was kept: it cannot go out again
        }
        sent.on('error', () => {}); // the caller's stream failing: down.gone ends the try
        await this.forward(call, await call.find(stop), sent, stop);
      });
    } finally {
      body.discard();
    }
  }

  /** One exchange with the target, until the call is over. */
  private async forward(call: Omit<RemoteCall, 'find'>, origin: string, body: Readable, stop: AbortSignal): Promise<void> {
    const up = await this.upstreams.request(origin, requestHeaders(call.h, call.md, origin), stop, call.tls);
    const { finished } = await exchange(call.down, up, body, stop, this.opts.maxMessageBytes);
    await finished;
  }
}

interface RemoteCall {
  down: Downstream;
  /** The caller's headers. */
  h: HeaderMap;
  /** The metadata for the target. */
  md: HeaderMap;
  /** mTLS towards the target's sidecar. */
  tls?: UpstreamTls;
  /** Finds the target sidecar's origin. */
  find: (signal: AbortSignal) => Promise<string>;
}

/** The request towards the target: the caller's method and path, the metadata as edited. */
function requestHeaders(h: HeaderMap, md: HeaderMap, origin: string) {
  return {
    ...outgoing(endToEnd(md)),
    ':method': first(h, ':method') ?? 'POST',
    ':path': first(h, ':path') ?? '/',
    ':scheme': origin.startsWith('https:') ? 'https' : 'http',
    ':authority': origin.replace(/^https?:\/\//, ''),
  };
}

/** The caller's answer when the call could not go through (or the target's own trailers-only failure). */
function answerFailure(down: Downstream, e: unknown, log?: Logger): void {
  const err = unwrapPermanent(e);
  if (err instanceof StatusCodeError && err.protocol === 'grpc' && err.response) {
    return down.respondOnly(err.response as OutgoingHttpHeaders);
  }
  if (err instanceof ProxyError) return down.fail(err.code, err.message);
  if (err instanceof ResiliencyTimeoutError) return down.fail(status.DEADLINE_EXCEEDED, `failed to proxy request: ${err.message}`);
  if (err instanceof CircuitBreakerOpenError) return down.fail(status.UNAVAILABLE, `failed to proxy request: ${err.message}`);
  if (err instanceof BodyNotReplayableError) return down.fail(status.FAILED_PRECONDITION, `failed to proxy request: ${err.message}`);
  log?.warn(`gRPC proxy: ${errMessage(err)}`);
  down.fail(status.INTERNAL, `failed to proxy request: ${errMessage(err)}`);
}

/** Status metadata as HTTP/2 header values: Buffers (the -bin keys) in base64. */
function binary(trailers: Refusal['trailers']): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(trailers ?? {})) out[k] = typeof v === 'string' ? v : v.toString('base64');
  return out;
}
