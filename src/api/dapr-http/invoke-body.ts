// An invocation's request body, streamed under --max-body-size: a declared Content-Length over the
// limit is refused before anything is sent; a chunked body is cut off when it passes the limit
// (the target sees a broken upload and the caller gets 413). The rest of an oversized upload is
// read and dropped, so a client still sending reads the error instead of hitting a closed socket.
import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { RuntimeError } from '../../errors/runtime-error';
import { emptyStream } from '../../core/invoke/replay';

/** How much beyond the limit is read and dropped before the connection is cut instead. */
const DRAIN_CAP = 64 * 1024 * 1024;

export interface InvokeBody {
  stream: Readable;
  /** Bytes declared by Content-Length, when given. */
  length?: number;
  /** True once the body went over the limit. */
  readonly tooLarge: boolean;
}

const tooLarge = (limit: number) => new RuntimeError('BODY_TOO_LARGE', `limit is ${limit} bytes`);

/** Drops the rest of an upload, up to DRAIN_CAP, then cuts the connection. */
function drain(req: IncomingMessage, limit: number, already: number): void {
  let seen = already;
  req.on('data', (c: Buffer) => {
    seen += c.length;
    if (seen > limit + DRAIN_CAP) req.destroy();
  });
  req.resume();
}

/**
 * A body a matched route already read (a route that hands the request on to invocation's fallback,
 * e.g. /v1.0/publish/<pubsub> without a topic): the upload has ended, so the bytes read go instead.
 */
export function bufferedBody(body: Buffer): InvokeBody {
  const out = new PassThrough();
  out.end(body);
  return { stream: out, length: body.length, tooLarge: false };
}

export function invokeBody(req: IncomingMessage, limit: number): InvokeBody {
  const declared = req.headers['content-length'];
  const length = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined;
  if (length !== undefined && length > limit) {
    drain(req, limit, 0);
    throw tooLarge(limit);
  }
  const hasBody = (length ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  // Nothing (more) will arrive: an upload already read to its end would otherwise never end here.
  if (!hasBody || req.readableEnded) return { stream: emptyStream(), length: hasBody ? length : 0, tooLarge: false };
  const out = new PassThrough();
  const state = { stream: out as Readable, length, tooLarge: false };
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    if (state.tooLarge || out.destroyed) return;
    size += chunk.length;
    if (size > limit) {
      state.tooLarge = true;
      drain(req, limit, size);
      out.destroy(tooLarge(limit));
      return;
    }
    if (!out.write(chunk)) {
      req.pause();
      out.once('drain', () => req.resume());
    }
  });
  req.once('end', () => {
    if (!state.tooLarge) out.end();
  });
  req.once('error', (e) => out.destroy(new RuntimeError('BODY_READ', e.message)));
  // The consumer went away (an aborted call): stop holding the upload back.
  out.once('close', () => {
    if (!out.writableEnded && !state.tooLarge) req.resume();
  });
  return state;
}
