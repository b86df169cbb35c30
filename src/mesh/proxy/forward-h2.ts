// h2c (HTTP/2 with prior knowledge) to a cluster's endpoints, gRPC included: one session per
// endpoint carrying every request as a stream; a session that closes or gets a GOAWAY is replaced
// on the next request. As with HTTP/1.1, a streamed body is sent only once the session is up.
import { type ClientHttp2Session, type ClientHttp2Stream, connect, constants as h2, type IncomingHttpHeaders } from 'node:http2';
import type { ClusterConfig } from './config';
import { type AttemptResult, type Endpoint, UpstreamError } from './cluster/types';
import { endToEnd } from './headers';
import { attemptResult, type Forwarder, responseIsGrpc, type UpstreamRequest, type UpstreamResponse } from './upstream';

/** Larger than HTTP/2's 64 KiB default windows, so one stream can stream at full speed. */
export const H2_WINDOW = 1 << 20;
export const H2_SETTINGS = { initialWindowSize: H2_WINDOW };

interface Session {
  session: ClientHttp2Session;
  connected: boolean;
  /** Why it failed before connecting. */
  error?: Error;
}

export class H2Forwarder implements Forwarder {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly config: ClusterConfig) {}

  attempt(req: UpstreamRequest, ep: Endpoint, signal: AbortSignal): Promise<AttemptResult<UpstreamResponse>> {
    const entry = this.session(ep);
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (e: Error) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof UpstreamError || signal.aborted ? e : new UpstreamError(entry.connected ? 'reset' : 'connect-failure', (entry.error ?? e).message, e));
      };
      const body = req.body;
      const bodyless = body.stream === undefined;
      const headers: Record<string, string | string[]> = { ...req.headers, ':method': req.method, ':path': req.path, ':authority': req.authority, ':scheme': 'http' };
      delete headers.host;
      let s: ClientHttp2Stream;
      try {
        s = entry.session.request(headers, { endStream: bodyless });
      } catch (e) {
        return fail(e as Error);
      }
      const onAbort = () => {
        fail(signal.reason as Error);
        s.close(h2.NGHTTP2_CANCEL);
      };
      const send = () => {
        if (body.buffered !== undefined) s.end(body.buffered);
        else if (!bodyless) {
          try {
            body.take().pipe(s);
          } catch (e) {
            fail(e as Error);
            s.close(h2.NGHTTP2_CANCEL);
          }
        }
      };
      if (!bodyless) {
        if (entry.connected) send();
        else entry.session.once('connect', send);
      }
      let trailers: IncomingHttpHeaders | undefined;
      s.on('trailers', (t: IncomingHttpHeaders) => (trailers = t));
      s.on('error', fail);
      s.once('close', () => fail(new UpstreamError(entry.connected ? 'reset' : 'connect-failure', entry.error?.message ?? `stream closed with code ${s.rstCode}`)));
      s.once('response', (h: IncomingHttpHeaders, flags: number) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        const res: UpstreamResponse = {
          status: Number(h[':status']),
          headers: endToEnd(h),
          body: s,
          endAfterHeaders: (flags & h2.NGHTTP2_FLAG_END_STREAM) !== 0,
          grpc: responseIsGrpc(h),
          trailers: () => trailers,
          abort: () => s.close(h2.NGHTTP2_CANCEL),
          discard: () => s.close(h2.NGHTTP2_CANCEL),
        };
        resolve(attemptResult(res));
      });
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): void {
    for (const e of this.sessions.values()) e.session.destroy();
    this.sessions.clear();
  }

  retain(addresses: ReadonlySet<string>): void {
    for (const [address, e] of this.sessions) {
      if (addresses.has(address)) continue;
      this.sessions.delete(address);
      e.session.close(); // open streams finish first
    }
  }

  private session(ep: Endpoint): Session {
    const found = this.sessions.get(ep.address);
    if (found && !found.session.closed && !found.session.destroyed) return found;
    const host = ep.host.includes(':') ? `[${ep.host}]` : ep.host;
    const session = connect(`http://${host}:${ep.port}`, { settings: H2_SETTINGS });
    const entry: Session = { session, connected: false };
    const forget = () => {
      if (this.sessions.get(ep.address) === entry) this.sessions.delete(ep.address);
    };
    const timer = setTimeout(() => {
      entry.error = new Error(`connect timeout after ${this.config.connectTimeout}ms`);
      session.destroy();
    }, this.config.connectTimeout);
    session.once('connect', () => {
      clearTimeout(timer);
      entry.connected = true;
      session.setLocalWindowSize(H2_WINDOW);
    });
    session.on('error', (e) => {
      if (!entry.connected) entry.error ??= e;
    });
    session.once('goaway', forget);
    // An idle session is let go after keepAlive, as the HTTP/1.1 pool lets its sockets go.
    session.setTimeout(this.config.keepAlive, () => session.close());
    session.once('close', () => {
      clearTimeout(timer);
      forget();
    });
    // Idle pooled sessions must not keep the process alive; their streams do while in flight.
    session.unref();
    this.sessions.set(ep.address, entry);
    return entry;
  }
}
