// HTTP/2 client sessions to the proxy's targets (the app's gRPC server, other sidecars' internal
// ports): one per origin, shared by every call to it, dropped when it closes, fails or is told to
// go away, so the next call dials afresh.
import { type ClientHttp2Session, type ClientHttp2Stream, connect, type OutgoingHttpHeaders, type SecureClientSessionOptions } from 'node:http2';
import { status } from '@grpc/grpc-js';
import { errMessage } from '../../errors/runtime-error';
import { ProxyError } from './status';

export interface UpstreamsOptions {
  /** How long a new connection may take before the call fails UNAVAILABLE. */
  connectTimeoutMs: number;
}

/** TLS towards a target that must prove who it is (another sidecar with mTLS): sessions are kept per origin and `id`. */
export interface UpstreamTls {
  id: string;
  options: SecureClientSessionOptions;
}

export class Upstreams {
  private readonly sessions = new Map<string, ClientHttp2Session>();
  private closed = false;

  constructor(private readonly opts: UpstreamsOptions) {}

  /** A connected session to origin (http://host:port or https://...); UNAVAILABLE when none can be had. */
  async session(origin: string, signal: AbortSignal, tls?: UpstreamTls): Promise<ClientHttp2Session> {
    if (this.closed) throw new ProxyError(status.UNAVAILABLE, 'the sidecar is shutting down');
    const key = tls ? `${origin}|${tls.id}` : origin;
    let s = this.sessions.get(key);
    if (!s || s.closed || s.destroyed) s = this.dial(origin, key, tls);
    await this.connected(s, key, origin, signal);
    return s;
  }

  /** Opens a stream; a cached session that turns out to be going away is replaced once. */
  async request(origin: string, headers: OutgoingHttpHeaders, signal: AbortSignal, tls?: UpstreamTls): Promise<ClientHttp2Stream> {
    for (let tries = 0; ; tries++) {
      const s = await this.session(origin, signal, tls);
      try {
        return s.request(headers, { endStream: false });
      } catch (e) {
        this.drop(tls ? `${origin}|${tls.id}` : origin, s);
        if (tries > 0) throw new ProxyError(status.UNAVAILABLE, `connection error: ${errMessage(e)}`);
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const s of this.sessions.values()) s.destroy();
    this.sessions.clear();
  }

  private dial(origin: string, key: string, tls?: UpstreamTls): ClientHttp2Session {
    // grpcs apps: daprd does not verify the app's certificate either.
    const s = connect(origin, tls ? tls.options : origin.startsWith('https:') ? { rejectUnauthorized: false } : {});
    this.sessions.set(key, s);
    s.on('error', () => this.drop(key, s)); // the calls on it see their streams close
    s.once('goaway', () => this.drop(key, s, false));
    s.once('close', () => this.drop(key, s, false));
    return s;
  }

  private drop(key: string, s: ClientHttp2Session, destroy = true): void {
    if (this.sessions.get(key) === s) this.sessions.delete(key);
    if (destroy && !s.destroyed) s.destroy();
  }

  private connected(s: ClientHttp2Session, key: string, origin: string, signal: AbortSignal): Promise<void> {
    if (!s.connecting && !s.closed && !s.destroyed) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const where = origin.replace(/^https?:\/\//, '');
      const done = (err?: Error) => {
        clearTimeout(timer);
        s.off('connect', onConnect).off('error', onError).off('close', onClose);
        signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const onConnect = () => done();
      const onError = (e: Error) => done(new ProxyError(status.UNAVAILABLE, `connection error: cannot connect to ${where}: ${errMessage(e)}`));
      const onClose = () => done(new ProxyError(status.UNAVAILABLE, `connection error: the connection to ${where} closed`));
      const onAbort = () => done(new ProxyError(status.CANCELLED, 'context canceled'));
      const timer = setTimeout(() => {
        this.drop(key, s);
        done(new ProxyError(status.UNAVAILABLE, `connection error: no connection to ${where} within ${this.opts.connectTimeoutMs} ms`));
      }, this.opts.connectTimeoutMs);
      if (signal.aborted) return onAbort();
      s.once('connect', onConnect).once('error', onError).once('close', onClose);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
