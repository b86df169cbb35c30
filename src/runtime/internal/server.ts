// The internal gRPC server (daprd's internal API): other sidecars call ServiceInvocation.CallLocal /
// CallLocalStream on it and it hands the call to this sidecar's app through the local Invoker.
// Bodies stream in both directions: the request reaches the app while its chunks still arrive.
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { hostname, userInfo } from 'node:os';
import { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { CallSignal } from '../../core/call-signal';
import type { InvokeRequest, InvokeResponse, Invoker } from '../../core/invoke/types';
import { errMessage } from '../../errors/runtime-error';
import { filteredServer } from '../../api/grpc/filter-interceptor';
import type { FilterChain } from '../../mesh/chain';
import { serviceInvocationDefinition } from './protos';
import { fromWireRequest, toWireResponse, type WireRequest, type WireResponse } from './wire';
import { CALL_LOCAL_STREAM, CallError, serveCallLocalStream, type ServeOptions } from './h2-server-call';
import { MUX_PATH } from './mux-frames';
import { type MuxStream, serveMux } from './mux-server';
import { divertUnknownMethods } from '../../api/grpc-proxy/grpc-js-hook';
import { trailersOnly } from '../../api/grpc-proxy/status';
import { status } from '@grpc/grpc-js';
import type { CallerIdentity } from '../../core/invoke/types';
import { type Mtls, mtlsServerCredentials, peerIdentity } from '../../security/mtls';
import { spiffeIdFromSan } from '../../security/spiffe';

export interface InternalServerOptions {
  appId: string;
  /** --dapr-internal-grpc-listen-address ('' or unset: every interface, as daprd). */
  host?: string;
  /** --dapr-internal-grpc-port; unset: daprd's stable port for the app id, else any free port. */
  port?: number;
  /** Largest unary message (CallLocal carries the whole body in one). */
  maxMessageBytes: number;
  /** This sidecar's app (undefined while there is none: the call fails as daprd's does). */
  local: () => Invoker | undefined;
  /** Called with the server before it binds (gRPC proxying takes the streams for the apps' own services). */
  prepare?: (server: grpc.Server) => void;
  /** The filters every call passes through. */
  chain?: FilterChain;
  /** Mutual TLS: callers must present a certificate from the trust bundle with a SPIFFE ID. */
  mtls?: Mtls;
  /** Access control (spec.accessControl): the denial for a call, answered PERMISSION_DENIED; undefined = allowed. */
  authorize?: (req: InvokeRequest) => string | undefined;
}

const fail = (code: grpc.status, details: string): Partial<grpc.StatusObject> => ({ code, details });

/**
 * daprd's utils.GetStablePort: 47300 + 11 bits of sha256(appId|cwd|uid|hostname), so a sidecar
 * restarted in the same place gets the same port (0..2047 above the start).
 */
export function stablePort(appId: string, start = 47300): number {
  let uid = '';
  try {
    uid = String(userInfo().uid);
  } catch {
    /* no passwd entry */
  }
  const h = createHash('sha256').update([appId, process.cwd(), uid, hostname()].join('|')).digest();
  return start + h[0]! + ((h[1]! >> 5) << 8);
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

export class InternalServer {
  private readonly server: grpc.Server;
  /** Open multiplexed-call streams, ended on stop once their calls are done. */
  private readonly muxes = new Set<MuxStream>();
  /** The port bound (known after start). */
  port = 0;
  readonly host: string;

  constructor(private readonly opts: InternalServerOptions) {
    this.host = opts.host || '0.0.0.0';
    this.server = filteredServer({ 'grpc.max_receive_message_length': opts.maxMessageBytes, 'grpc.max_send_message_length': opts.maxMessageBytes }, opts.chain, 'internal');
    const unimplemented = (_: unknown, cb?: grpc.sendUnaryData<unknown>) => {
      const err = fail(grpc.status.UNIMPLEMENTED, 'actors are not supported by this sidecar');
      if (cb) cb(err);
    };
    // grpc-js answers UNIMPLEMENTED for a method of a definition with no handler: leave CallLocalStream out.
    const { CallLocalStream: _served, ...methods } = serviceInvocationDefinition;
    this.server.addService(methods, {
      CallLocal: (call: grpc.ServerUnaryCall<WireRequest, WireResponse>, cb: grpc.sendUnaryData<WireResponse>) => void this.callLocal(call, cb),
      CallActor: unimplemented,
      CallActorReminder: unimplemented,
      CallActorStream: (call: grpc.ServerWritableStream<unknown, unknown>) => call.emit('error', fail(grpc.status.UNIMPLEMENTED, 'actors are not supported by this sidecar')),
    });
    opts.prepare?.(this.server);
    // Installed after `prepare` so it sees the streams first (gRPC proxying diverts the rest).
    divertUnknownMethods(this.server, (stream, headers) => {
      let caller: CallerIdentity | undefined;
      if (opts.mtls) {
        // Every diverted stream (proxied ones too) comes from a caller with a SPIFFE ID, or is refused.
        const id = peerIdentity(stream.session?.socket);
        if (typeof id === 'string') {
          stream.respond(trailersOnly(status.UNAUTHENTICATED, `mTLS: ${id}`), { endStream: true });
          return true;
        }
        caller = id;
      }
      const path = headers[':path'];
      if (path !== CALL_LOCAL_STREAM && path !== MUX_PATH) return false;
      const serve: ServeOptions = { maxMessageBytes: opts.maxMessageBytes, chain: opts.chain, handle: (first, body, signal, empty) => this.serveStream(first, body, signal, caller, empty) };
      if (path === CALL_LOCAL_STREAM) serveCallLocalStream(stream, headers, serve);
      else {
        const mux = serveMux(stream, serve);
        this.muxes.add(mux);
        stream.once('close', () => this.muxes.delete(mux));
      }
      return true;
    });
  }

  /** Binds the port; with no port given, daprd's stable one, or any free one when that is taken. */
  async start(): Promise<number> {
    const bind = (port: number) =>
      new Promise<number>((res, rej) => {
        const addr = this.host.includes(':') ? `[${this.host}]:${port}` : `${this.host}:${port}`;
        this.server.bindAsync(addr, this.opts.mtls ? mtlsServerCredentials(this.opts.mtls) : grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? rej(new Error(`cannot listen on ${addr}: ${err.message}`)) : res(bound)));
      });
    if (this.opts.port !== undefined && this.opts.port !== 0) this.port = await bind(this.opts.port);
    else {
      // Probe first: a failed grpc-js bind logs an error line even when we fall back.
      const stable = stablePort(this.opts.appId);
      this.port = (await portFree(this.host, stable)) ? await bind(stable).catch(() => bind(0)) : await bind(0);
    }
    return this.port;
  }

  /** Stops taking calls; in-flight ones get graceMs before they are cut. */
  async stop(graceMs: number): Promise<void> {
    const force = setTimeout(() => this.server.forceShutdown(), graceMs);
    for (const m of this.muxes) m.drain(); // long-lived: ended once their calls are done, or the session would stay open
    await new Promise<void>((r) => this.server.tryShutdown(() => r()));
    clearTimeout(force);
  }

  private invoker(): Invoker {
    const local = this.opts.local();
    if (!local) throw Object.assign(new Error('app channel is not initialized'), { grpcCode: grpc.status.INTERNAL });
    return local;
  }

  private async callLocal(call: grpc.ServerUnaryCall<WireRequest, WireResponse>, cb: grpc.sendUnaryData<WireResponse>): Promise<void> {
    const ac = new CallSignal();
    // grpc-js also emits 'cancelled' when a call ends normally: abort only unfinished work.
    let finished = false;
    call.on('cancelled', () => finished || ac.abort());
    try {
      let caller: CallerIdentity | undefined;
      if (this.opts.mtls) {
        const id = spiffeIdFromSan(call.getAuthContext().sslPeerCertificate?.subjectaltname);
        if (typeof id === 'string') return cb(fail(grpc.status.UNAUTHENTICATED, `mTLS: ${id}`));
        caller = id;
      }
      const local = this.invoker();
      const w = call.request;
      if (!w.message) return cb(fail(grpc.status.INVALID_ARGUMENT, 'parsing InternalInvokeRequest error: message is missing'));
      const data = w.message.data?.value ?? Buffer.alloc(0);
      const res = await this.appCall(local, withCaller(fromWireRequest(w, this.opts.appId, Readable.from(data.length > 0 ? [data] : [])), caller), ac);
      const body = Buffer.concat(await res.body.toArray());
      finished = true;
      cb(null, toWireResponse(res, body));
    } catch (e) {
      finished = true;
      cb(toStatus(e));
    }
  }

  private serveStream(first: WireRequest, body: Readable, signal: AbortSignal, caller: CallerIdentity | undefined, empty = false): Promise<InvokeResponse> {
    let local: Invoker;
    try {
      local = this.invoker();
    } catch (e) {
      return Promise.reject(new CallError(status.INTERNAL, errMessage(e)));
    }
    const req = fromWireRequest(first, this.opts.appId, body);
    if (empty) req.length = 0;
    return this.appCall(local, withCaller(req, caller), signal).catch((e) => {
      throw new CallError((e as { grpcCode?: number }).grpcCode ?? status.INTERNAL, errMessage(e));
    });
  }

  private appCall(local: Invoker, req: InvokeRequest, signal: AbortSignal): Promise<InvokeResponse> {
    const denied = this.opts.authorize?.(req);
    if (denied !== undefined) return Promise.reject(Object.assign(new Error(denied), { grpcCode: grpc.status.PERMISSION_DENIED }));
    return local.invoke(req, signal).catch((e) => {
      throw Object.assign(new Error(`error invoking app channel: ${errMessage(e)}`), { grpcCode: grpc.status.INTERNAL });
    });
  }
}

/** The verified caller (mTLS) goes with the request to the local app's invocation (its access control reads it). */
function withCaller<T extends { callerIdentity?: CallerIdentity }>(req: T, caller: CallerIdentity | undefined): T {
  if (caller) req.callerIdentity = caller;
  return req;
}

function toStatus(e: unknown): Partial<grpc.StatusObject> {
  const code = (e as { grpcCode?: number }).grpcCode ?? grpc.status.INTERNAL;
  return fail(code, errMessage(e));
}
