// The callee end of CallLocalStream on the raw HTTP/2 stream, taken from grpc-js before its server
// stack runs (grpc-js-hook.ts): the same wire protocol for any gRPC caller, at a fraction of the
// CPU. Requests arrive as a leading InternalInvokeRequest and sequenced payloads; the answer goes
// back as a leading InternalInvokeResponse, payloads, then the status in the trailers.
import { constants as h2, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { Readable } from 'node:stream';
import { status } from '@grpc/grpc-js';
import { CallSignal } from '../../core/call-signal';
import type { InvokeResponse } from '../../core/invoke/types';
import { errMessage } from '../../errors/runtime-error';
import type { FilterChain } from '../../mesh/chain';
import type { Exchange } from '../../mesh/filter';
import { messageReader } from './grpc-frames';
import { SERVICE_INVOCATION } from './protos';
import { decodeRequestStream, encodeResponseStream } from './codec';
import { handedOn, pieces, toWireResponse, type WirePayload, type WireRequest, type WireResponse } from './wire';

export const CALL_LOCAL_STREAM = `/${SERVICE_INVOCATION}/CallLocalStream`;

type Incoming = { request: WireRequest | null; payload: WirePayload | null };
const decode = (b: Buffer): Incoming => decodeRequestStream(b);
const encode = (m: { response?: WireResponse; payload?: WirePayload }): Buffer => encodeResponseStream(m);

/** A failure answered as a gRPC status. */
export class CallError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ServeOptions {
  maxMessageBytes: number;
  chain?: FilterChain;
  /**
   * Runs the call: the leading request and the body stream (`empty`: the caller's stream ended with
   * the leading message, no body); rejects with a CallError or any error (INTERNAL).
   */
  handle(first: WireRequest, body: Readable, signal: AbortSignal, empty: boolean): Promise<InvokeResponse>;
}

/** Serves one CallLocalStream on `stream`. */
export function serveCallLocalStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, o: ServeOptions): void {
  const ac = new CallSignal();
  let answered = false; // response headers sent
  let finished = false; // status sent
  let bytesIn = 0;
  let bytesOut = 0;
  const ex: Exchange | undefined = o.chain && !o.chain.isEmpty('internal') ? callLocalExchange(headers, stream.session?.socket?.remoteAddress ?? '') : undefined;

  const finish = (code: number, details: string) => {
    if (finished) return;
    finished = true;
    if (ex) {
      Object.assign(ex, { status: code, message: details, requestBytes: bytesIn, responseBytes: bytesOut });
      o.chain!.response(ex);
    }
    if (stream.destroyed || stream.closed) return;
    const trailers = { 'grpc-status': String(code), ...(details ? { 'grpc-message': encodeURI(details) } : {}) };
    if (!answered) stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...trailers }, { endStream: true });
    else {
      stream.once('wantTrailers', () => {
        stream.sendTrailers(trailers);
        // A caller still sending (answered before its body ended) is told to stop, as gRPC servers
        // do; one whose end of stream is only waiting to be read is let finish first.
        stream.resume();
        setImmediate(() => {
          if (!stream.readableEnded && !stream.destroyed) stream.close(h2.NGHTTP2_NO_ERROR);
        });
      });
      stream.end();
    }
  };
  stream.once('close', () => {
    if (!finished) {
      ac.abort();
      finish(status.CANCELLED, 'Cancelled');
    }
  });
  stream.on('error', () => undefined); // 'close' follows

  const run = () => {
    readRequest(stream, o.maxMessageBytes, (n) => (bytesIn += n))
      .then(async ({ first, body, empty }) => {
        try {
          const res = await o.handle(first, body, ac, empty);
          if (ac.aborted) return res.body.destroy();
          stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
          answered = true;
          await writeResponse(stream, res, ac, (n) => (bytesOut += n));
          finish(status.OK, '');
        } finally {
          body.destroy();
        }
      })
      .catch((e: unknown) => {
        if (!ac.aborted) finish(e instanceof CallError ? e.code : status.INTERNAL, errMessage(e));
      });
  };
  if (!ex) return run();
  throughChain(o.chain!, ex, run, finish);
}

/** What the internal API's filters see of one call (CallLocalStream, or one multiplexed call). */
export function callLocalExchange(headers: IncomingHttpHeaders, remoteAddress: string): Exchange {
  return {
    api: 'internal',
    protocol: 'grpc',
    verb: 'POST',
    route: CALL_LOCAL_STREAM,
    path: CALL_LOCAL_STREAM,
    headers,
    remoteAddress,
    streaming: true,
    startNs: process.hrtime.bigint(),
    attrs: new Map(),
  };
}

/** Runs a call through the filters: a verdict or a failed filter ends it with `finish`, else `run` runs. */
export function throughChain(chain: FilterChain, ex: Exchange, run: () => void, finish: (code: number, details: string) => void): void {
  chain.request(ex).then(
    (verdict) => (verdict ? finish(verdict.grpc.code, verdict.grpc.details) : ex.run ? ex.run(run) : run()),
    (e: unknown) => finish(status.INTERNAL, `filter failed: ${errMessage(e)}`),
  );
}

/**
 * Waits for the leading message and returns it with the rest of the stream as the body: payload
 * chunks in sequence (a gap or a second `request` fails the body), paused while the app reads slowly.
 */
function readRequest(stream: ServerHttp2Stream, max: number, count: (n: number) => void): Promise<{ first: WireRequest; body: Readable; empty: boolean }> {
  return new Promise((resolve, reject) => {
    let first: WireRequest | undefined;
    let ended = false;
    let pushed = false;
    let seq = 0n;
    const body = handedOn(new Readable({ read: () => stream.resume() }));
    const failBody = (e: Error) => (first ? body.destroy(e) : reject(e));
    const push = (p: WirePayload | null) => {
      if (!p || p.data.length === 0) return;
      if (BigInt(p.seq) !== seq) return body.destroy(new Error(`invalid sequence number received: ${p.seq} (expected: ${seq})`));
      seq++;
      pushed = true;
      if (!body.push(p.data)) stream.pause();
    };
    stream.on(
      'data',
      messageReader(max, {
        onMessage: (raw) => {
          if (body.destroyed) return;
          count(raw.length);
          let msg: Incoming;
          try {
            msg = decode(raw);
          } catch (e) {
            return failBody(new CallError(status.INTERNAL, `error unmarshalling the request: ${errMessage(e)}`));
          }
          if (!first) {
            if (!msg.request?.message) return reject(new CallError(status.INVALID_ARGUMENT, 'parsing InternalInvokeRequest error: request does not contain the required fields in the leading chunk'));
            first = msg.request;
            push(msg.payload);
            if (pushed) return resolve({ first, body, empty: false });
            // No payload with the leading message: a caller with no body (a GET) ended the stream in
            // the same frame, whose end is read right after. Known empty, the app channel sends no
            // body (app-channel/http.ts: a stream body kept every call alive through scavenges).
            return setImmediate(() => resolve({ first: first!, body, empty: ended && !pushed }));
          }
          if (msg.request) return body.destroy(new Error('request metadata found in non-leading chunk'));
          push(msg.payload);
        },
        onInvalid: (why, len) => {
          const e = why === 'too-large' ? new CallError(status.RESOURCE_EXHAUSTED, `grpc: received message larger than max (${len} vs. ${max})`) : new CallError(status.UNIMPLEMENTED, 'compressed messages are not supported');
          stream.pause();
          failBody(e);
        },
      }),
    );
    stream.once('end', () => {
      ended = true;
      if (!first) reject(new CallError(status.INVALID_ARGUMENT, 'parsing InternalInvokeRequest error: empty stream'));
      else if (!body.destroyed) body.push(null);
    });
  });
}

/**
 * The leading `response` message, then the body in sequenced payloads, honouring backpressure.
 * The first piece rides with the leading message (as daprd sends it): one write for a small answer.
 * Driven by events (an async iterator per call showed on the profile). Resolves early when the
 * call is cut (stream closed or aborted): the rest of the answer is dropped.
 */
function writeResponse(stream: ServerHttp2Stream, res: InvokeResponse, signal: AbortSignal, count: (n: number) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const body = res.body;
    let leading: WireResponse | undefined = toWireResponse(res);
    let seq = 0;
    const send = (msg: { response?: WireResponse; payload?: WirePayload }): boolean => {
      const buf = encode(msg);
      count(buf.length - 5);
      return stream.write(buf);
    };
    const cleanup = () => {
      body.off('data', onData).off('end', onEnd).off('error', onError);
      stream.off('drain', onDrain).off('close', onCut);
      signal.removeEventListener('abort', onCut);
    };
    const onData = (chunk: Buffer | string) => {
      let ok = true;
      for (const piece of pieces(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk))) {
        const payload = { data: piece, seq: String(seq++) };
        ok = send(leading ? { response: leading, payload } : { payload }) && ok;
        leading = undefined;
      }
      if (!ok) body.pause();
    };
    const onDrain = () => body.resume();
    const onEnd = () => {
      cleanup();
      if (leading) send({ response: leading });
      resolve();
    };
    const onError = (e: unknown) => {
      cleanup();
      reject(new CallError(status.INTERNAL, `error reading the app's response body: ${errMessage(e)}`));
    };
    const onCut = () => {
      cleanup();
      body.destroy();
      resolve();
    };
    if (signal.aborted) return onCut();
    body.on('data', onData).once('end', onEnd).once('error', onError);
    stream.on('drain', onDrain).once('close', onCut);
    signal.addEventListener('abort', onCut, { once: true });
  });
}
