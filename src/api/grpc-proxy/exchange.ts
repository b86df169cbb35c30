// One proxied call at the HTTP/2 level: the caller's stream (downstream) and, per attempt, the
// stream to the target (upstream). Request data flows down → up and response data up → down
// through pipes (each side's flow control holds the other back); response headers, trailers and
// trailers-only responses are passed on as the target sent them. A reset on either side ends the
// other: the caller's cancel or deadline reaches the target as RST_STREAM CANCEL, and a target
// that goes away mid-call leaves the caller with the status a direct client would have seen.
import { constants as h2, type ClientHttp2Stream, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import { status } from '@grpc/grpc-js';
import { permanent, StatusCodeError } from '../../core/resiliency/errors';
import { messageSizeGuard } from './frames';
import { anyOf } from '../../core/signals';
import { endToEnd, first, headerMap, outgoing } from './headers';
import { ProxyError, rstStatus, statusHeaders, trailersOnly } from './status';

/** The caller's side of a proxied call. */
export class Downstream {
  private readonly left = new AbortController();
  private trailers?: OutgoingHttpHeaders;
  private over = false;
  private ending = false;
  private source?: Readable;

  constructor(readonly stream: ServerHttp2Stream) {
    stream.on('error', () => {}); // a reset or a dead session: 'close' says so
    stream.once('close', () => {
      if (!this.over) this.left.abort();
    });
    stream.on('wantTrailers', () => {
      this.over = true;
      this.safely(() => stream.sendTrailers(this.trailers ?? {}));
    });
  }

  /** node throws when the stream went away in between (or refuses a header): reset it instead of crashing. */
  private safely(send: () => void): void {
    try {
      send();
    } catch {
      this.over = true;
      if (!this.stream.destroyed) this.stream.close(h2.NGHTTP2_INTERNAL_ERROR);
    }
  }

  /** Fires when the caller goes away (RST_STREAM, deadline, lost connection) before the answer is complete. */
  get gone(): AbortSignal {
    return this.left.signal;
  }

  /** Nothing more can be sent: answered completely, or the caller is gone. */
  get finished(): boolean {
    return this.over || this.stream.closed || this.stream.destroyed;
  }

  get committed(): boolean {
    return this.stream.headersSent;
  }

  /** The target's response headers, then its body from `source`; trailers follow once it ends. */
  respond(headers: OutgoingHttpHeaders, source: Readable): void {
    this.safely(() => {
      this.stream.respond(headers, { waitForTrailers: true });
      this.source = source;
      source.pipe(this.stream);
    });
  }

  /** A whole response in one HEADERS frame (a trailers-only status). */
  respondOnly(headers: OutgoingHttpHeaders): void {
    if (this.finished || this.committed) return;
    this.over = true;
    this.safely(() => this.stream.respond(headers, { endStream: true }));
  }

  /** The trailers to send when the body ends. */
  setTrailers(trailers: OutgoingHttpHeaders): void {
    this.trailers = trailers;
  }

  /** Ends the call with a status of the proxy's own: trailers-only before any response, else trailers. */
  fail(code: status, message: string): void {
    if (this.finished || this.ending) return;
    this.ending = true;
    if (!this.committed) return this.respondOnly(trailersOnly(code, message));
    this.source?.unpipe(this.stream);
    this.trailers = statusHeaders(code, message);
    if (!this.stream.writableEnded) this.stream.end();
  }
}

export interface Exchange {
  /** Settles when the call is over on both sides (never rejects). */
  finished: Promise<void>;
}

/**
 * Runs one attempt over `up`, sending `body` as the request. Resolves once response headers have
 * been passed to the caller (the call is then committed to this attempt); rejects before that with
 * a ProxyError, or with a StatusCodeError carrying the target's trailers-only answer when it failed
 * without sending anything (a retry may still try again, else the caller gets that answer as is).
 */
export function exchange(down: Downstream, up: ClientHttp2Stream, body: Readable, signal: AbortSignal, maxMessageBytes = 0): Promise<Exchange> {
  return new Promise<Exchange>((resolve, reject) => {
    let state: 'waiting' | 'trailers-only' | 'streaming' = 'waiting';
    let cancelled: ProxyError | undefined;
    let endFinished!: () => void;
    const finished = new Promise<void>((r) => (endFinished = r));
    const cancel = (why = new ProxyError(status.CANCELLED, 'context canceled')) => {
      cancelled ??= why;
      if (!up.closed && !up.destroyed) up.close(h2.NGHTTP2_CANCEL);
    };
    const stopped = anyOf(signal, down.gone);
    const onStop = () => cancel();
    if (stopped.signal.aborted) cancel();
    else stopped.signal.addEventListener('abort', onStop, { once: true });
    up.on('error', () => {}); // the stream's 'close' (rstCode, session state) tells what happened
    body.pipe(up);
    // Watchers after the pipes, so they see each chunk after it has gone on.
    const tooLarge = (what: string) => (length: number) => {
      const f = new ProxyError(status.RESOURCE_EXHAUSTED, `grpc: ${what} message larger than max (${length} vs. ${maxMessageBytes})`);
      if (state === 'streaming') down.fail(f.code, f.message);
      cancel(f);
    };
    const sent = maxMessageBytes > 0 ? messageSizeGuard(maxMessageBytes, tooLarge('trying to send')) : undefined;
    if (sent) body.on('data', sent);

    up.once('response', (_h: unknown, flags: number, raw: string[]) => {
      const head = headerMap(raw);
      const headers: OutgoingHttpHeaders = { ...outgoing(endToEnd(head)), ':status': Number(first(head, ':status') ?? 200) };
      if (flags & h2.NGHTTP2_FLAG_END_STREAM) {
        state = 'trailers-only';
        up.resume();
        const code = Number(first(head, 'grpc-status') ?? status.UNKNOWN);
        if (code !== status.OK && !down.finished) return reject(new StatusCodeError(code, 'grpc', decodeMessage(first(head, 'grpc-message')), headers));
        down.respondOnly(headers);
        return resolve({ finished });
      }
      if (down.finished) return cancel(); // 'close' below rejects
      state = 'streaming';
      down.respond(headers, up);
      if (maxMessageBytes > 0) up.on('data', messageSizeGuard(maxMessageBytes, tooLarge('received')));
      resolve({ finished });
    });
    up.once('trailers', (_h: unknown, _flags: number, raw: string[]) => down.setTrailers(outgoing(endToEnd(headerMap(raw)))));

    up.once('close', () => {
      stopped.dispose();
      stopped.signal.removeEventListener('abort', onStop);
      body.unpipe(up);
      if (sent) body.off('data', sent);
      const rst = up.rstCode ?? h2.NGHTTP2_NO_ERROR;
      const why = () => cancelled ?? failure(up, rst);
      // Too large a request fails the same way on every try: no retry.
      if (state === 'waiting') reject(cancelled?.code === status.RESOURCE_EXHAUSTED ? permanent(cancelled) : why());
      else if (state === 'streaming' && (rst !== h2.NGHTTP2_NO_ERROR || !up.readableEnded)) {
        // Cut off mid-response: the caller gets the status a direct client would have read.
        const f = why();
        down.fail(f.code, f.message);
      }
      endFinished();
    });
  });
}

/** Why the target's stream closed without an answer. */
function failure(up: ClientHttp2Stream, rst: number): ProxyError {
  if (up.session?.destroyed || up.session?.closed || rst === h2.NGHTTP2_REFUSED_STREAM) {
    return new ProxyError(status.UNAVAILABLE, `connection error: the target closed the connection${rst ? ` (RST_STREAM code ${rst})` : ''}`);
  }
  return new ProxyError(rstStatus(rst), `stream terminated by RST_STREAM with error code: ${rst}`);
}

function decodeMessage(m: string | undefined): string {
  if (!m) return '';
  try {
    return decodeURIComponent(m);
  } catch {
    return m;
  }
}
