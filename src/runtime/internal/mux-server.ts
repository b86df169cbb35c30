// The callee end of the multiplexed sidecar-to-sidecar calls (layout in mux-frames.ts): each CALL
// on the stream runs as a CallLocalStream would (filters, access control, the app), and its answer
// goes back as HEAD [DATA…] END, or HEAD_END when it fits in one piece, or FAIL. A call's body
// bytes beyond WINDOW wait for the caller's CREDIT, so one slow reader holds back only its call.
import { constants as h2, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { Readable } from 'node:stream';
import { status } from '@grpc/grpc-js';
import { CallSignal } from '../../core/call-signal';
import { emptyStream } from '../../core/invoke/replay';
import type { InvokeResponse } from '../../core/invoke/types';
import { errMessage } from '../../errors/runtime-error';
import type { Exchange } from '../../mesh/filter';
import { messageReader } from './grpc-frames';
import { decodeRequestStream, encodeResponseMessage } from './codec';
import { CallError, callLocalExchange, type ServeOptions, throughChain } from './h2-server-call';
import { CALL, CANCEL, CREDIT, DATA, END, HEAD, HEAD_END, muxFail, muxFrame, muxParse, REFUSED, WINDOW } from './mux-frames';
import { traceMetadata } from './trace-metadata';
import { CHUNK_BYTES, fromMetadata, handedOn, pieces, toWireResponse, type WireRequest } from './wire';

// A call's record keeps the same two functions for its whole life: what they do changes through
// variables of the call's scope. Storing a new closure into such a record mid-call made every call's
// objects survive young-generation GCs (about 0.5 KB promoted per call in a bare loop, the whole
// call in the sidecar: --trace-gc-nvp), which is what this stream exists to avoid.
interface Call {
  /** Body bytes the caller will still take. */
  credit: number;
  /** Ends the call at once: the caller cancelled it or the stream closed. */
  cut(): void;
  /** More credit arrived. */
  onCredit(): void;
}

/** One open multiplexed stream; `drain()` ends it once its calls are done (server shutdown). */
export interface MuxStream {
  drain(): void;
}

/** Serves the multiplexed calls on `stream` until the caller ends it. */
export function serveMux(stream: ServerHttp2Stream, o: ServeOptions): MuxStream {
  const calls = new Map<number, Call>();
  let draining = false;
  const drainWaiters = new Set<() => void>();
  const remoteAddress = stream.session?.socket?.remoteAddress ?? '';

  const noop: MuxStream = { drain: () => undefined };
  if (stream.destroyed || stream.closed) return noop; // the caller reset it already
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  const endIfIdle = () => {
    if (draining && calls.size === 0 && !stream.writableEnded && !stream.destroyed) stream.end();
  };
  const write = (buf: Buffer): boolean => !stream.destroyed && !stream.writableEnded && stream.write(buf);
  stream.on('drain', () => {
    const waiting = [...drainWaiters];
    drainWaiters.clear();
    for (const f of waiting) f();
  });
  stream.on(
    'data',
    messageReader(o.maxMessageBytes + 5, {
      onMessage: (msg) => {
        const m = muxParse(msg);
        if (!m) return void stream.close(h2.NGHTTP2_PROTOCOL_ERROR);
        if (m.kind === CALL) return start(m.id, m.rest);
        const call = calls.get(m.id);
        if (!call) return; // finished already
        if (m.kind === CANCEL) {
          calls.delete(m.id);
          call.cut();
          endIfIdle();
        } else if (m.kind === CREDIT && m.rest.length >= 4) {
          call.credit += m.rest.readUInt32BE(0);
          call.onCredit();
        }
      },
      onInvalid: () => stream.close(h2.NGHTTP2_PROTOCOL_ERROR),
    }),
  );
  stream.once('end', () => {
    draining = true; // the caller sends no more calls
    endIfIdle();
  });
  stream.once('close', () => {
    const open = [...calls.values()];
    calls.clear();
    for (const c of open) c.cut();
  });
  stream.on('error', () => undefined); // 'close' follows

  function start(id: number, raw: Buffer): void {
    if (draining) return void write(muxFrame(id, REFUSED)); // not started: the caller sends it another way
    if (calls.has(id)) return void write(muxFail(id, status.INVALID_ARGUMENT, `call ${id} is already running`));
    const signal = new CallSignal();
    let stopAnswer: (() => void) | undefined;
    let flowAnswer: (() => void) | undefined;
    const call: Call = {
      credit: WINDOW,
      cut: () => {
        signal.abort();
        stopAnswer?.();
      },
      onCredit: () => flowAnswer?.(),
    };
    calls.set(id, call);
    let ex: Exchange | undefined;
    let sent = 0;
    let first: WireRequest | null;
    let data: Buffer | undefined;
    try {
      const m = decodeRequestStream(raw);
      first = m.request;
      data = m.payload?.data;
    } catch (e) {
      return finish(status.INTERNAL, `error unmarshalling the request: ${errMessage(e)}`);
    }
    if (!first?.message) return finish(status.INVALID_ARGUMENT, 'parsing InternalInvokeRequest error: request does not contain the required fields in the leading chunk');
    const request = first;
    if (o.chain && !o.chain.isEmpty('internal')) ex = exchangeOf(request, remoteAddress, raw.length);

    function finish(code: number, details: string): void {
      if (calls.get(id) === call) {
        calls.delete(id);
        if (code !== status.OK) write(muxFail(id, code, details));
        endIfIdle();
      }
      if (ex) {
        Object.assign(ex, { status: code, message: details, responseBytes: sent });
        o.chain!.response(ex);
      }
    }
    const run = () => {
      let body: Readable;
      if (data && data.length > 0) {
        body = handedOn(new Readable({ read() {} }));
        body.push(data);
        body.push(null);
      } else body = emptyStream();
      o.handle(request, body, signal, !data || data.length === 0)
        .then((res) => {
          if (signal.aborted) return void (res.whole === undefined && res.body.destroy());
          return answer(res);
        })
        .then(
          () => finish(signal.aborted ? status.CANCELLED : status.OK, signal.aborted ? 'Cancelled' : ''),
          (e: unknown) => finish(signal.aborted ? status.CANCELLED : e instanceof CallError ? e.code : status.INTERNAL, errMessage(e)),
        );
    };

    /** Sends the answer, honouring the call's credit and the stream's backpressure. */
    function answer(res: InvokeResponse): Promise<void> | void {
      const w = res.whole;
      if (w !== undefined && w.length <= CHUNK_BYTES) {
        // Read whole already: one message, no stream to follow.
        const bytes = encodeResponseMessage(w.length > 0 ? { response: toWireResponse(res), payload: { data: w, seq: '0' } } : { response: toWireResponse(res) });
        call.credit -= w.length;
        sent += bytes.length;
        write(muxFrame(id, HEAD_END, bytes));
        return;
      }
      return new Promise<void>((resolve, reject) => {
        const body = res.body;
        const leading = toWireResponse(res);
        let held: Buffer[] = [];
        let heldBytes = 0;
        let headSent = false;
        let needDrain = false;
        const out = (kind: number, bytes: Uint8Array | undefined, bodyBytes: number) => {
          call.credit -= bodyBytes;
          sent += bytes ? bytes.length : 0;
          if (!write(muxFrame(id, kind, bytes))) needDrain = true;
        };
        const flow = () => {
          if (call.credit > 0 && !needDrain) body.resume();
          else {
            body.pause();
            if (needDrain && !stream.destroyed) drainWaiters.add(onDrain);
          }
        };
        const onDrain = () => {
          needDrain = false;
          flow();
        };
        flowAnswer = flow;
        const head = (whole: boolean) => {
          const all = pieces(held.length === 1 ? held[0]! : Buffer.concat(held));
          held = [];
          const firstPiece = all.shift();
          const one = whole && all.length === 0;
          out(one ? HEAD_END : HEAD, encodeResponseMessage(firstPiece ? { response: leading, payload: { data: firstPiece, seq: '0' } } : { response: leading }), firstPiece?.length ?? 0);
          headSent = true;
          for (const p of all) out(DATA, p, p.length);
          if (whole && !one) out(END, undefined, 0);
        };
        const cleanup = () => {
          body.off('data', onData).off('end', onEnd).off('error', onError);
          drainWaiters.delete(onDrain);
          flowAnswer = undefined;
        };
        const onData = (chunk: Buffer | string) => {
          const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
          if (!headSent) {
            held.push(b);
            heldBytes += b.length;
            if (heldBytes > CHUNK_BYTES) head(false); // more than one piece: stream it under credit
          } else for (const p of pieces(b)) out(DATA, p, p.length);
          if (headSent) flow();
        };
        const onEnd = () => {
          cleanup();
          if (!headSent) head(true);
          else out(END, undefined, 0);
          resolve();
        };
        const onError = (e: unknown) => {
          cleanup();
          reject(new CallError(status.INTERNAL, `error reading the app's response body: ${errMessage(e)}`));
        };
        stopAnswer = () => {
          cleanup();
          body.destroy();
          resolve();
        };
        body.on('data', onData).once('end', onEnd).once('error', onError);
      });
    }

    if (!ex) return run();
    throughChain(o.chain!, ex, run, finish);
  }

  return {
    drain: () => {
      draining = true;
      endIfIdle();
    },
  };
}

/** What the filters see of one multiplexed call: a CallLocalStream with the call's metadata as headers. */
function exchangeOf(w: WireRequest, remoteAddress: string, requestBytes: number): Exchange {
  const md = fromMetadata(w.metadata);
  const headers: IncomingHttpHeaders = {};
  for (const k in md) headers[k] = md[k]!.join(',');
  Object.assign(headers, traceMetadata(md));
  return Object.assign(callLocalExchange(headers, remoteAddress), { requestBytes });
}
