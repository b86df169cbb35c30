// The caller end of the multiplexed sidecar-to-sidecar calls (layout in mux-frames.ts): one
// long-lived stream per HTTP/2 session, opened in the background; calls use it once the callee has
// accepted it, and go over CallLocalStream until then, or for good when the callee refuses it.
import { constants as h2, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { status } from '@grpc/grpc-js';
import { messageReader } from './grpc-frames';
import { CALL, CANCEL, CREDIT, DATA, END, FAIL, HEAD, HEAD_END, MUX_PATH, muxFrame, muxNumber, muxParse, REFUSED } from './mux-frames';

/** What a call hears back; exactly one of onHead(…, true), onEnd or onFail ends it. */
export interface MuxCallHandlers {
  /** The encoded InternalInvokeResponseStream; `whole`: no body bytes follow. */
  onHead(msg: Buffer, whole: boolean): void;
  onData(chunk: Buffer): void;
  onEnd(): void;
  onFail(code: number, details: string): void;
  /** The callee did not start the call (it is draining): it can be sent another way. */
  onRefused(): void;
}

export class MuxClient {
  /** Accepted by the callee: takes calls. */
  ready = false;
  /** Takes no more calls (ended, lost, or refused). */
  closed = false;
  /** The callee does not offer multiplexed calls (daprd, or an older layotto-ts). */
  refused = false;
  private readonly stream: ClientHttp2Stream;
  private readonly calls = new Map<number, MuxCallHandlers>();
  private nextId = 0;
  /** The callee ended the stream with status OK: it does so only once no call is running. */
  private endedCleanly = false;

  constructor(
    readonly session: ClientHttp2Session,
    maxMessageBytes: number,
  ) {
    const stream = (this.stream = session.request({ ':method': 'POST', ':path': MUX_PATH, 'content-type': 'application/grpc', te: 'trailers' }));
    stream.once('response', (hd) => {
      if (Number(hd[':status']) === 200 && hd['grpc-status'] === undefined) this.ready = true;
      else {
        this.refused = true;
        this.finish();
      }
    });
    stream.on('data', messageReader(maxMessageBytes, { onMessage: (m) => this.dispatch(m), onInvalid: () => stream.close(h2.NGHTTP2_PROTOCOL_ERROR) }));
    stream.on('error', () => undefined); // 'close' follows
    // The callee ended it (shutting down): no new calls; ending this side lets the stream close.
    stream.once('end', () => this.finish());
    stream.once('trailers', (t) => (this.endedCleanly = t['grpc-status'] === '0'));
    stream.once('close', () => {
      this.closed = true;
      const lost = [...this.calls.values()];
      this.calls.clear();
      // After a clean end, a call still waiting crossed it: the callee never saw it.
      for (const h of lost) this.endedCleanly ? h.onRefused() : h.onFail(status.UNAVAILABLE, 'the connection to the sidecar closed before the call ended');
      stream.removeAllListeners();
      stream.on('error', () => undefined);
    });
  }

  /** Starts a call with its encoded InternalInvokeRequestStream; 0 when this stream takes no calls. */
  call(request: Uint8Array, h: MuxCallHandlers): number {
    if (!this.ready || this.closed || this.stream.destroyed) return 0;
    const id = (this.nextId = (this.nextId % 0xffffffff) + 1);
    this.calls.set(id, h);
    this.stream.write(muxFrame(id, CALL, request));
    return id;
  }

  /** The caller gave up: the callee stops the call; nothing more is reported for it. */
  cancel(id: number): void {
    if (this.calls.delete(id) && !this.stream.destroyed) this.stream.write(muxFrame(id, CANCEL));
  }

  /** `n` more response bytes of call `id` were read. */
  credit(id: number, n: number): void {
    if (n > 0 && this.calls.has(id) && !this.stream.destroyed) this.stream.write(muxNumber(id, CREDIT, n));
  }

  /** No new calls; the ones in flight finish (the callee ends the stream once they have). */
  finish(): void {
    this.closed = true;
    if (!this.stream.writableEnded && !this.stream.destroyed) this.stream.end();
  }

  private dispatch(msg: Buffer): void {
    const m = muxParse(msg);
    if (!m) return void this.stream.close(h2.NGHTTP2_PROTOCOL_ERROR);
    const h = this.calls.get(m.id);
    if (!h) return; // a call already cancelled
    switch (m.kind) {
      case HEAD:
        return h.onHead(m.rest, false);
      case HEAD_END:
        this.calls.delete(m.id);
        return h.onHead(m.rest, true);
      case DATA:
        return h.onData(m.rest);
      case END:
        this.calls.delete(m.id);
        return h.onEnd();
      case REFUSED:
        this.calls.delete(m.id);
        return h.onRefused();
      case FAIL:
        this.calls.delete(m.id);
        return m.rest.length < 4 ? h.onFail(status.INTERNAL, 'malformed failure from the sidecar') : h.onFail(m.rest.readUInt32BE(0), m.rest.toString('utf8', 4));
    }
  }
}
