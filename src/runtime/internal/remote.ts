// The caller side of sidecar-to-sidecar invocation (daprd's directMessaging.invokeRemote): resolve
// the app id through name resolution, then CallLocalStream on that sidecar's internal server over
// one grpc-js channel per address, reused. The request body streams out while the response may
// already stream back. Failures are TransportErrors carrying the gRPC code (UNAVAILABLE is what the
// built-in service retries retry); a channel that failed so is dropped so the next try dials anew.
import { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import type { InvokeRequest, InvokeResponse, Invoker, ResolvedAddress } from '../../core/invoke/types';
import { errMessage } from '../../errors/runtime-error';
import { joinHostPort } from '../../components/nameresolution/address';
import type { NameResolver, ResolveRequest } from '../../components/nameresolution/types';
import { ServiceInvocationClient } from './protos';
import { fromWireResponse, handedOn, pieces, toWireRequest, TransportError, type WirePayload, type WireRequest, type WireResponse } from './wire';

type Call = grpc.ClientDuplexStream<{ request?: WireRequest; payload?: WirePayload }, { response: WireResponse | null; payload: WirePayload | null }>;

export interface RemoteInvokerOptions {
  resolver: NameResolver;
  /** This sidecar's internal port (ResolveRequest.port: kubernetes-style names reuse it). */
  ownPort: number;
  /** Largest gRPC message either way. */
  maxMessageBytes: number;
  /** How long a new channel may take to connect before the call fails UNAVAILABLE. */
  connectTimeoutMs?: number;
}

export class RemoteInvoker {
  private readonly clients = new Map<string, grpc.Client>();
  private closed = false;

  constructor(private readonly opts: RemoteInvokerOptions) {}

  /** The Invoker for an app behind another sidecar; rejects with the resolver's reason when none is found. */
  async remote(appId: string, namespace: string, signal?: AbortSignal): Promise<Invoker> {
    const req: ResolveRequest = { id: appId, namespace, port: this.opts.ownPort };
    const address = await this.opts.resolver.resolve(req, signal);
    return { invoke: (r, s) => this.call(req, address, r, s) };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private client(address: string): grpc.Client {
    if (this.closed) throw new TransportError(grpc.status.UNAVAILABLE, 'the sidecar is shutting down');
    let c = this.clients.get(address);
    if (!c) {
      const max = this.opts.maxMessageBytes;
      c = new ServiceInvocationClient(address, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': max, 'grpc.max_send_message_length': max });
      this.clients.set(address, c);
    }
    return c;
  }

  /** Drops a channel that failed to connect; the resolver forgets the address too. */
  private teardown(target: ResolveRequest, to: ResolvedAddress, address: string): void {
    const c = this.clients.get(address);
    this.clients.delete(address);
    c?.close();
    this.opts.resolver.evict?.(target, to);
  }

  private async call(target: ResolveRequest, to: ResolvedAddress, req: InvokeRequest, signal?: AbortSignal): Promise<InvokeResponse> {
    const address = joinHostPort(to.host, to.port);
    const client = this.client(address);
    try {
      await connected(client, address, this.opts.connectTimeoutMs ?? 5000, signal);
    } catch (e) {
      if (e instanceof TransportError && e.code === grpc.status.UNAVAILABLE) this.teardown(target, to, address);
      throw e;
    }
    const call = (client as unknown as { CallLocalStream(): Call }).CallLocalStream();
    const res = exchange(call, req, signal);
    res.catch((e) => {
      if (e instanceof TransportError && e.code === grpc.status.UNAVAILABLE) this.teardown(target, to, address);
    });
    return res;
  }
}

/**
 * Resolves once the channel is READY; UNAVAILABLE as soon as it fails to connect (TRANSIENT_FAILURE:
 * the caller drops it, so a retry dials afresh instead of waiting out grpc-js's backoff) or when
 * it cannot connect within timeoutMs (an unreachable host).
 */
function connected(client: grpc.Client, address: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const ch = client.getChannel();
  const deadline = Date.now() + timeoutMs;
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(new TransportError(grpc.status.CANCELLED, 'context canceled'));
    const unavailable = (why: string) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new TransportError(grpc.status.UNAVAILABLE, `connection error: ${why}`));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const check = () => {
      const state = ch.getConnectivityState(true);
      if (state === grpc.connectivityState.READY) {
        signal?.removeEventListener('abort', onAbort);
        return resolve();
      }
      if (state === grpc.connectivityState.TRANSIENT_FAILURE || state === grpc.connectivityState.SHUTDOWN) return unavailable(`cannot connect to ${address}`);
      ch.watchConnectivityState(state, deadline, (err) => {
        if (signal?.aborted) return;
        if (err) return unavailable(`no connection to ${address} within ${timeoutMs} ms`);
        check();
      });
    };
    check();
  });
}

/**
 * Runs one CallLocalStream: sends the leading request and the body in sequenced chunks, and
 * resolves with the response as soon as its leading message arrives, the body streaming after it.
 */
function exchange(call: Call, req: InvokeRequest, signal?: AbortSignal): Promise<InvokeResponse> {
  return new Promise<InvokeResponse>((resolve, reject) => {
    let body: Readable | undefined;
    let expect = 0n;
    let settled = false;
    let ended = false;
    const fail = (e: unknown) => {
      const err = e instanceof TransportError ? e : asTransportError(e);
      if (!settled) {
        settled = true;
        reject(err);
      } else body?.destroy(err);
    };
    const onAbort = () => {
      call.cancel();
      fail(new TransportError(grpc.status.CANCELLED, 'context canceled'));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });

    call.on('data', (msg: { response: WireResponse | null; payload: WirePayload | null }) => {
      if (!body) {
        if (!msg.response?.status) return fail(new TransportError(grpc.status.INTERNAL, 'response does not contain the required fields in the leading chunk'));
        body = handedOn(
          new Readable({
            read: () => call.resume(),
            destroy: (err, cb) => {
              if (!call.destroyed && !ended) call.cancel(); // the caller stopped reading: stop the transfer
              cb(err);
            },
          }),
        );
        settled = true;
        resolve(fromWireResponse(msg.response, body));
      } else if (msg.response) {
        return fail(new TransportError(grpc.status.INTERNAL, 'response metadata found in non-leading chunk'));
      }
      const p = msg.payload;
      if (!p || p.data.length === 0) return;
      if (BigInt(p.seq) !== expect) return fail(new TransportError(grpc.status.INTERNAL, `invalid sequence number received: ${p.seq} (expected: ${expect})`));
      expect++;
      if (!body.push(p.data)) call.pause();
    });
    call.on('end', () => {
      ended = true;
      signal?.removeEventListener('abort', onAbort);
      if (!body) fail(new TransportError(grpc.status.INTERNAL, 'no response received from stream'));
      else if (!body.destroyed) body.push(null);
    });
    call.on('error', (e) => {
      signal?.removeEventListener('abort', onAbort);
      if (!(signal?.aborted && (e as grpc.ServiceError).code === grpc.status.CANCELLED)) fail(e);
    });

    void sendRequest(call, req).catch((e) => {
      call.cancel();
      fail(new TransportError(grpc.status.CANCELLED, `error sending the request body: ${errMessage(e)}`));
    });
  });
}

/**
 * The leading message, then the body in sequenced payloads, pausing the body on backpressure. When
 * the callee closes the call first (it answered without reading everything), the body is left
 * paused, not destroyed: it belongs to the caller's connection.
 */
function sendRequest(call: Call, req: InvokeRequest): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const body = req.body;
    let seq = 0;
    let done = false;
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      body.off('data', onData).off('end', onEnd).off('error', finish);
      call.off('drain', onDrain).off('status', stop).off('error', stop);
      if (err) reject(err);
      else resolve();
    };
    const onData = (chunk: Buffer | string) => {
      let ok = true;
      for (const piece of pieces(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk))) ok = call.write({ payload: { data: piece, seq: String(seq++) } }) && ok;
      if (!ok) body.pause();
    };
    const onDrain = () => body.resume();
    const onEnd = () => {
      call.end();
      finish();
    };
    const stop = () => {
      body.pause();
      finish();
    };
    call.on('drain', onDrain).once('status', stop).once('error', stop);
    call.write({ request: toWireRequest(req) });
    body.on('data', onData).once('end', onEnd).once('error', finish);
    if (body.readableEnded) onEnd();
  });
}

function asTransportError(e: unknown): TransportError {
  const se = e as Partial<grpc.ServiceError>;
  if (typeof se.code === 'number') return new TransportError(se.code, se.details ?? errMessage(e));
  return new TransportError(grpc.status.UNKNOWN, errMessage(e));
}
