// A lean gRPC client transport for the sidecar-to-sidecar hop: one HTTP/2 session per address and
// gRPC's length-prefixed messages written and read by hand. grpc-js's client stack (resolving,
// retrying, load-balancing and subchannel calls, filters) cost about 40% of a hop's CPU on a
// profile; this speaks the same wire protocol, so the callee is any gRPC server (ours or daprd's).
import { connect, constants as h2, type ClientHttp2Session, type ClientHttp2Stream, type SecureClientSessionOptions } from 'node:http2';
import { status } from '@grpc/grpc-js';
import { rstStatus } from '../../api/grpc-proxy/status';
import { tlsFailure } from '../../security/mtls';
import { decodeGrpcMessage, messageReader } from './grpc-frames';
import { MuxClient } from './mux-client';
import { TransportError } from './wire';

export interface ChannelOptions {
  /** Largest message accepted either way (grpc.max_*_message_length). */
  maxMessageBytes: number;
  /** How long a new session may take to connect before calls fail UNAVAILABLE. */
  connectTimeoutMs: number;
  /** Mutual TLS towards the callee (mtlsClientOptions); unset: plain HTTP/2 (h2c). */
  tls?: SecureClientSessionOptions;
}

const ignore = (): void => undefined;

/** One gRPC call on a stream: frame messages out, get them back parsed, then the status. */
export interface CallHandlers {
  onMessage(msg: Buffer): void;
  /** Once, at the end: code 0 = OK. */
  onStatus(code: number, details: string): void;
}

export class H2Channel {
  private session?: Promise<ClientHttp2Session>;
  /** The session once connected (calls on it skip the promise and abort wiring of ready()). */
  private connected?: ClientHttp2Session;
  /** The multiplexed calls' stream on the connected session (mux-client.ts). */
  private muxClient?: MuxClient;
  /** Streams lost (not refused) so far; a callee that keeps dropping them is not offered more. */
  private muxLosses = 0;
  private muxOff = false;

  constructor(
    readonly address: string,
    private readonly opts: ChannelOptions,
  ) {}

  /** Resolves once connected; UNAVAILABLE when the peer refuses or does not answer in time. */
  ready(signal?: AbortSignal): Promise<ClientHttp2Session> {
    const s = (this.session ??= this.open());
    if (!signal) return s;
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new TransportError(status.CANCELLED, 'context canceled'));
      const onAbort = () => reject(new TransportError(status.CANCELLED, 'context canceled'));
      signal.addEventListener('abort', onAbort, { once: true });
      s.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** Starts a call on `path`; the returned stream takes framed messages (codec.ts writes them prefixed). */
  async call(path: string, headers: Record<string, string>, handlers: CallHandlers, signal?: AbortSignal): Promise<ClientHttp2Stream> {
    const session = this.connected && !this.connected.closed && !this.connected.destroyed ? this.connected : await this.ready(signal);
    let stream: ClientHttp2Stream;
    try {
      stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    } catch (e) {
      this.drop(session); // out of stream ids, or closing: the next call opens a new session
      throw new TransportError(status.UNAVAILABLE, `cannot start a call on ${this.address}: ${(e as Error).message}`);
    }
    follow(stream, session, this.opts.maxMessageBytes, handlers);
    // A closed stream still outlives young-generation GCs (node's native twin holds it) and its
    // listeners' closures hold the whole call: dropped, the caller sidecar keeps 0.9 MB per
    // scavenge instead of 2.3 MB (--trace-gc-nvp, one call at a time). emit('close') runs its own
    // copy of the list, so 'close' listeners added after this one still run.
    stream.once('close', () => {
      stream.removeAllListeners();
      stream.on('error', ignore); // a late error on a finished call is nobody's to handle
    });
    return stream;
  }

  /**
   * The multiplexed stream when it is open on the connected session and the callee accepted it;
   * otherwise undefined (the call goes over its own stream) and, on a live session, one is opened.
   */
  mux(): MuxClient | undefined {
    const session = this.connected;
    if (this.muxOff || !session || session.closed || session.destroyed) return undefined;
    let m = this.muxClient;
    if (m && (m.closed || m.session !== session)) {
      if (m.refused) this.muxOff = true;
      else if (m.session === session && ++this.muxLosses >= 3) this.muxOff = true;
      m.finish();
      m = this.muxClient = undefined;
      if (this.muxOff) return undefined;
    }
    if (!m) {
      try {
        m = this.muxClient = new MuxClient(session, this.opts.maxMessageBytes + 5);
      } catch {
        return undefined; // the session cannot take a stream now; the call's own attempt says why
      }
    }
    return m.ready ? m : undefined;
  }

  close(): void {
    this.muxClient?.finish();
    this.muxClient = undefined;
    const s = this.session;
    this.session = undefined;
    this.connected = undefined;
    void s?.then((session) => session.close(), () => undefined);
  }

  private open(): Promise<ClientHttp2Session> {
    return new Promise((resolve, reject) => {
      const tls = this.opts.tls;
      const session = tls ? connect(`https://${this.address}`, { settings: { enablePush: false }, ...tls }) : connect(`http://${this.address}`, { settings: { enablePush: false } });
      const timer = setTimeout(() => fail(`no connection to ${this.address} within ${this.opts.connectTimeoutMs} ms`), this.opts.connectTimeoutMs);
      const fail = (why: string) => {
        clearTimeout(timer);
        this.drop(session);
        session.destroy();
        reject(new TransportError(status.UNAVAILABLE, `connection error: ${why}`));
      };
      session.once('connect', () => {
        clearTimeout(timer);
        this.connected = session;
        session.unref(); // an idle channel must not keep the process alive
        resolve(session);
      });
      session.on('error', (e: NodeJS.ErrnoException) => {
        lostWith.set(session, e); // the calls on it say why they ended
        fail(e.code === 'ECONNREFUSED' ? `cannot connect to ${this.address}` : tls ? `mTLS handshake with ${this.address} failed: ${tlsFailure(e)}` : e.message);
      });
      // A session the server is done with takes no new calls; the ones on it finish.
      session.once('goaway', () => this.drop(session));
      session.once('close', () => this.drop(session));
    });
  }

  private drop(session: ClientHttp2Session): void {
    if (this.connected === session) this.connected = undefined;
    if (this.muxClient?.session === session) {
      this.muxClient.finish(); // calls in flight on it finish; new ones wait for the next session
      this.muxClient = undefined;
    }
    const current = this.session;
    void current?.then((s) => {
      if (s === session && this.session === current) this.session = undefined;
    }, () => {
      if (this.session === current) this.session = undefined;
    });
  }
}

/** Why a session failed, when it did. */
const lostWith = new WeakMap<ClientHttp2Session, NodeJS.ErrnoException>();

/** Reads a call's response: headers, messages across DATA chunks, then the status in the trailers. */
function follow(stream: ClientHttp2Stream, session: ClientHttp2Session, max: number, h: CallHandlers): void {
  let done = false;
  const end = (code: number, details: string) => {
    if (done) return;
    done = true;
    h.onStatus(code, details);
    // The call is over: a request body still going out (the callee answered first) stops here.
    if (!stream.writableEnded && !stream.destroyed) stream.close(h2.NGHTTP2_NO_ERROR);
  };
  const fromHeaders = (hd: Record<string, unknown>): boolean => {
    const code = hd['grpc-status'];
    if (code === undefined) return false;
    end(Number(code), decodeGrpcMessage(hd['grpc-message']));
    return true;
  };
  let answered = false;
  stream.once('response', (hd) => {
    answered = true;
    const httpStatus = Number(hd[':status']);
    if (httpStatus !== 200) {
      stream.close(h2.NGHTTP2_CANCEL);
      return end(status.UNKNOWN, `received HTTP status ${httpStatus} from the sidecar`);
    }
    // Trailers-only: the status arrives with the headers and there is no body.
    fromHeaders(hd);
  });
  stream.once('trailers', (t) => {
    if (!fromHeaders(t)) end(status.INTERNAL, 'the sidecar sent trailers without a grpc-status');
  });

  stream.on(
    'data',
    messageReader(max, {
      onMessage: (m) => {
        if (!done) h.onMessage(m);
      },
      onInvalid: (why, len) => {
        stream.close(h2.NGHTTP2_CANCEL);
        end(why === 'too-large' ? status.RESOURCE_EXHAUSTED : status.INTERNAL, why === 'too-large' ? `received message larger than max (${len} vs. ${max})` : 'received a compressed message; none was asked for');
      },
    }),
  );
  let failure: NodeJS.ErrnoException | undefined;
  stream.once('close', () => {
    if (done) return;
    const lost = failure ?? lostWith.get(session);
    // TLS 1.3: a callee refusing this sidecar's certificate says so after the handshake, on the first call.
    if (lost?.code?.startsWith('ERR_SSL')) end(status.UNAVAILABLE, `connection error: the sidecar refused the mTLS connection: ${tlsFailure(lost)}`);
    // node resets the streams of a lost connection with CANCEL: that is the connection's failure, not a cancellation.
    else if (stream.rstCode !== undefined && stream.rstCode !== h2.NGHTTP2_NO_ERROR && !session.destroyed) end(rstStatus(stream.rstCode), `stream closed with RST_STREAM code ${stream.rstCode}`);
    else if (lost) end(status.UNAVAILABLE, `connection error: ${lost.message}`);
    // A callee that does not trust this sidecar's certificate closes the connection without a word (node does).
    else if (session.encrypted && !answered) end(status.UNAVAILABLE, 'connection error: the sidecar closed the mTLS connection before answering (does it trust this sidecar\'s certificate?)');
    else end(status.UNAVAILABLE, 'the connection to the sidecar closed before the call ended');
  });
  stream.on('error', (e) => (failure = e)); // 'close' reports it
}
