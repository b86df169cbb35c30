// One sidecar-to-sidecar call over the multiplexed stream (mux-client.ts): the request with its
// whole (small) body in one message, the response as it comes back, its body read under the
// caller's credit so a slow reader holds back only its own call.
import { Readable } from 'node:stream';
import { status } from '@grpc/grpc-js';
import { letEnd } from '../../core/invoke/replay';
import type { InvokeRequest, InvokeResponse } from '../../core/invoke/types';
import { errMessage } from '../../errors/runtime-error';
import type { H2Channel } from './h2-channel';
import type { MuxCallHandlers } from './mux-client';
import { decodeResponseStream, encodeRequestMessage } from './codec';
import { fromWireResponse, handedOn, toWireRequest, TransportError } from './wire';

const EMPTY = Buffer.alloc(0);
const canceled = () => new TransportError(status.CANCELLED, 'context canceled');

/**
 * Sends `req` (a body of known, small length) over the channel's multiplexed stream; when that
 * stream closed meanwhile, `fallback` sends it over a stream of its own.
 */
export function exchangeMux(channel: H2Channel, req: InvokeRequest, signal: AbortSignal | undefined, fallback: (req: InvokeRequest) => Promise<InvokeResponse>): Promise<InvokeResponse> {
  if (req.length === 0) {
    letEnd(req.body); // nothing will come
    return start(channel, req, Buffer.alloc(0), signal, fallback);
  }
  // Events, not for-await/toArray: an async iterator per call showed on the profile.
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onAbort = () => reject(canceled()); // a body that stalls must not outlive the call's deadline
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    req.body.on('data', (c: Buffer | string) => chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c)));
    req.body.once('error', (e) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new TransportError(status.CANCELLED, `error sending the request body: ${errMessage(e)}`));
    });
    req.body.once('end', () => {
      signal?.removeEventListener('abort', onAbort);
      resolve(Buffer.concat(chunks));
    });
  }).then((data) => start(channel, req, data, signal, fallback));
}

function start(channel: H2Channel, req: InvokeRequest, data: Buffer, signal: AbortSignal | undefined, fallback: (req: InvokeRequest) => Promise<InvokeResponse>): Promise<InvokeResponse> {
  if (signal?.aborted) return Promise.reject(canceled());
  // Over a stream of its own: the request as it was, its body from the bytes already read.
  const resend = () => fallback({ ...req, body: Readable.from(data.length > 0 ? [data] : []), length: data.length });
  const mux = channel.mux();
  if (!mux) return resend();
  const message = () => encodeRequestMessage(data.length > 0 ? { request: toWireRequest(req), payload: { data, seq: '0' } } : { request: toWireRequest(req) });

  return new Promise<InvokeResponse>((resolve, reject) => {
    let id = 0;
    let body: Readable | undefined;
    let ended = false;
    let withheld = 0; // bytes read off the wire but not yet by the caller: credit owed
    const fail = (e: TransportError) => {
      ended = true;
      signal?.removeEventListener('abort', onAbort);
      if (!body) reject(e);
      else body.destroy(e);
    };
    const onAbort = () => {
      mux.cancel(id);
      fail(canceled());
    };
    const take = (chunk: Buffer) => {
      if (!body!.push(chunk)) withheld += chunk.length;
      else if (!ended) mux.credit(id, chunk.length);
    };
    const h: MuxCallHandlers = {
      onHead(raw, whole) {
        let msg: ReturnType<typeof decodeResponseStream>;
        try {
          msg = decodeResponseStream(raw);
        } catch (e) {
          mux.cancel(id);
          return fail(new TransportError(status.INTERNAL, `cannot parse the response: ${errMessage(e)}`));
        }
        if (!msg.response?.status) {
          mux.cancel(id);
          return fail(new TransportError(status.INTERNAL, 'response does not contain the required fields in the leading chunk'));
        }
        const first = msg.payload?.data;
        if (whole) {
          // All of it came with the head: no stream, no credit; `body` is made only if read.
          ended = true;
          signal?.removeEventListener('abort', onAbort);
          return resolve(fromWireResponse(msg.response, first ?? EMPTY));
        }
        body = handedOn(
          new Readable({
            read: () => {
              if (withheld > 0 && !ended) mux.credit(id, withheld);
              withheld = 0;
            },
            destroy: (err, cb) => {
              if (!ended) onAbort(); // the caller stopped reading: stop the transfer
              cb(err);
            },
          }),
        );
        if (first && first.length > 0) take(first);
        resolve(fromWireResponse(msg.response, body));
      },
      onData: (chunk) => {
        if (body && !body.destroyed) take(chunk);
      },
      onEnd() {
        ended = true;
        signal?.removeEventListener('abort', onAbort);
        if (body && !body.destroyed) body.push(null);
      },
      onFail: (code, details) => fail(new TransportError(code, details)),
      onRefused() {
        signal?.removeEventListener('abort', onAbort);
        if (!body) resolve(resend());
        else fail(new TransportError(status.INTERNAL, 'the sidecar refused a call it had answered'));
      },
    };
    id = mux.call(message(), h);
    if (id === 0) return resolve(resend());
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
