// The caller side of sidecar-to-sidecar invocation (daprd's directMessaging.invokeRemote): resolve
// the app id through name resolution, then CallLocalStream on that sidecar's internal server over
// one HTTP/2 session per address, reused (h2-channel.ts: gRPC's wire protocol without grpc-js's
// client stack). The request body streams out while the response may already stream back.
// Failures are TransportErrors carrying the gRPC code (UNAVAILABLE is what the built-in service
// retries retry); a channel that failed so is dropped so the next try dials anew.
import { Readable } from 'node:stream';
import type { ClientHttp2Stream } from 'node:http2';
import { status } from '@grpc/grpc-js';
import type { InvokeRequest, InvokeResponse, Invoker, ResolvedAddress } from '../../core/invoke/types';
import { errMessage } from '../../errors/runtime-error';
import { joinHostPort } from '../../components/nameresolution/address';
import type { NameResolver, ResolveRequest } from '../../components/nameresolution/types';
import { SERVICE_INVOCATION } from './protos';
import { H2Channel } from './h2-channel';
import { decodeResponseStream, encodeRequestStream } from './codec';
import { exchangeMux } from './mux-call';
import { muxable } from './mux-frames';
import { type Mtls, mtlsClientOptions } from '../../security/mtls';
import { traceMetadata } from './trace-metadata';
import { CHUNK_BYTES, fromWireResponse, handedOn, pieces, toWireRequest, TransportError, type WirePayload, type WireRequest, type WireResponse } from './wire';

type Outgoing = { request?: WireRequest; payload?: WirePayload };
type Incoming = { response: WireResponse | null; payload: WirePayload | null };

const PATH = `/${SERVICE_INVOCATION}/CallLocalStream`;
const encode = (m: Outgoing): Buffer => encodeRequestStream(m);
const decode = (b: Buffer): Incoming => decodeResponseStream(b);

export interface RemoteInvokerOptions {
  resolver: NameResolver;
  /** This sidecar's internal port (ResolveRequest.port: kubernetes-style names reuse it). */
  ownPort: number;
  /** Largest gRPC message either way. */
  maxMessageBytes: number;
  /** How long a new channel may take to connect before the call fails UNAVAILABLE. */
  connectTimeoutMs?: number;
  /** Mutual TLS: present this sidecar's certificate, accept only the target app's (by SPIFFE ID). */
  mtls?: Mtls;
}

export class RemoteInvoker {
  private readonly channels = new Map<string, H2Channel>();
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
    for (const c of this.channels.values()) c.close();
    this.channels.clear();
  }

  /** The channel under `key`: the address, or with mTLS address and app (the callee's identity is checked per session). */
  private channel(key: string, address: string, target: ResolveRequest): H2Channel {
    if (this.closed) throw new TransportError(status.UNAVAILABLE, 'the sidecar is shutting down');
    let c = this.channels.get(key);
    if (!c) {
      const mtls = this.opts.mtls;
      const tls = mtls && mtlsClientOptions(mtls, { appId: target.id, namespace: target.namespace });
      this.channels.set(key, (c = new H2Channel(address, { maxMessageBytes: this.opts.maxMessageBytes, connectTimeoutMs: this.opts.connectTimeoutMs ?? 5000, ...(tls ? { tls } : {}) })));
    }
    return c;
  }

  /** Drops a channel that failed to connect; the resolver forgets the address too. */
  private teardown(target: ResolveRequest, to: ResolvedAddress, key: string): void {
    const c = this.channels.get(key);
    this.channels.delete(key);
    c?.close();
    this.opts.resolver.evict?.(target, to);
  }

  private async call(target: ResolveRequest, to: ResolvedAddress, req: InvokeRequest, signal?: AbortSignal): Promise<InvokeResponse> {
    const address = joinHostPort(to.host, to.port);
    const key = this.opts.mtls ? `${address}|${target.namespace}/${target.id}` : address;
    const channel = this.channel(key, address, target);
    const res = muxable(req.length) && channel.mux() ? exchangeMux(channel, req, signal, (r) => exchange(channel, r, signal)) : exchange(channel, req, signal);
    res.catch((e) => {
      if (e instanceof TransportError && e.code === status.UNAVAILABLE) this.teardown(target, to, key);
    });
    return res;
  }
}

/**
 * Runs one CallLocalStream: sends the leading request and the body in sequenced chunks, and
 * resolves with the response as soon as its leading message arrives, the body streaming after it.
 */
function exchange(channel: H2Channel, req: InvokeRequest, signal?: AbortSignal): Promise<InvokeResponse> {
  return new Promise<InvokeResponse>((resolve, reject) => {
    let stream: ClientHttp2Stream | undefined;
    let body: Readable | undefined;
    let expect = 0n;
    let settled = false;
    let ended = false;
    const fail = (e: unknown) => {
      const err = e instanceof TransportError ? e : new TransportError(status.UNKNOWN, errMessage(e));
      if (!settled) {
        settled = true;
        reject(err);
      } else body?.destroy(err);
    };
    const onAbort = () => {
      stream?.close();
      fail(new TransportError(status.CANCELLED, 'context canceled'));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });

    const onMessage = (raw: Buffer) => {
      let msg: Incoming;
      try {
        msg = decode(raw);
      } catch (e) {
        stream?.close();
        return fail(new TransportError(status.INTERNAL, `cannot parse the response: ${errMessage(e)}`));
      }
      if (!body) {
        if (!msg.response?.status) return fail(new TransportError(status.INTERNAL, 'response does not contain the required fields in the leading chunk'));
        body = handedOn(
          new Readable({
            read: () => stream?.resume(),
            destroy: (err, cb) => {
              if (!ended) stream?.close(); // the caller stopped reading: stop the transfer
              cb(err);
            },
          }),
        );
        settled = true;
        resolve(fromWireResponse(msg.response, body));
      } else if (msg.response) {
        return fail(new TransportError(status.INTERNAL, 'response metadata found in non-leading chunk'));
      }
      const p = msg.payload;
      if (!p || p.data.length === 0) return;
      if (BigInt(p.seq) !== expect) return fail(new TransportError(status.INTERNAL, `invalid sequence number received: ${p.seq} (expected: ${expect})`));
      expect++;
      if (!body.push(p.data)) stream?.pause();
    };
    const onStatus = (code: number, details: string) => {
      ended = true;
      signal?.removeEventListener('abort', onAbort);
      if (code !== status.OK) {
        if (!(signal?.aborted && code === status.CANCELLED)) fail(new TransportError(code, details));
        return;
      }
      if (!body) fail(new TransportError(status.INTERNAL, 'no response received from stream'));
      else if (!body.destroyed) body.push(null);
    };

    channel.call(PATH, traceMetadata(req.headers), { onMessage, onStatus }, signal).then(
      (s) => {
        stream = s;
        if (signal?.aborted) return s.close();
        void sendRequest(s, req).catch((e) => {
          s.close();
          fail(new TransportError(status.CANCELLED, `error sending the request body: ${errMessage(e)}`));
        });
      },
      (e) => {
        signal?.removeEventListener('abort', onAbort);
        fail(e);
      },
    );
  });
}

/**
 * The leading message, then the body in sequenced payloads, pausing the body on backpressure. A
 * small body of known length goes out whole in the leading message, in one write that also ends
 * the stream (daprd sends the first chunk with the request too). When the callee closes the call
 * first (it answered without reading everything), the body is left paused, not destroyed: it
 * belongs to the caller's connection.
 */
function sendRequest(stream: ClientHttp2Stream, req: InvokeRequest): Promise<void> {
  const body = req.body;
  if (req.length === 0) {
    body.resume(); // nothing will come; let the source end
    stream.end(encode({ request: toWireRequest(req) }));
    return Promise.resolve();
  }
  if (req.length !== undefined && req.length <= CHUNK_BYTES) {
    // Events, not for-await/toArray: an async iterator per call showed on the profile.
    return new Promise<void>((resolve, reject) => {
      const chunks: Buffer[] = [];
      body.on('data', (c: Buffer | string) => chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c)));
      body.once('error', reject);
      body.once('end', () => {
        const data = Buffer.concat(chunks);
        stream.end(encode(data.length > 0 ? { request: toWireRequest(req), payload: { data, seq: '0' } } : { request: toWireRequest(req) }));
        resolve();
      });
    });
  }
  return new Promise<void>((resolve, reject) => {
    let seq = 0;
    let done = false;
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      body.off('data', onData).off('end', onEnd).off('error', finish);
      stream.off('drain', onDrain).off('close', stop);
      if (err) reject(err);
      else resolve();
    };
    const onData = (chunk: Buffer | string) => {
      let ok = true;
      for (const piece of pieces(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk))) ok = stream.write(encode({ payload: { data: piece, seq: String(seq++) } })) && ok;
      if (!ok) body.pause();
    };
    const onDrain = () => body.resume();
    const onEnd = () => {
      stream.end();
      finish();
    };
    const stop = () => {
      body.pause();
      finish();
    };
    stream.on('drain', onDrain).once('close', stop);
    stream.write(encode({ request: toWireRequest(req) }));
    body.on('data', onData).once('end', onEnd).once('error', finish);
  });
}
