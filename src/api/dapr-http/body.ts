// Reads a request body as raw bytes under the --max-body-size limit. An oversized body is drained
// (not buffered) before the 413 goes out, so clients that are still uploading read the error
// instead of hitting EPIPE on a closed socket. Past a hard cap the connection is cut.
import type { Readable } from 'node:stream';
import { RuntimeError } from '../../errors/runtime-error';

/** How much beyond the limit is read and discarded before giving up on a polite answer. */
const DRAIN_CAP = 64 * 1024 * 1024;

export function readBody(stream: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const tooLarge = () => new RuntimeError('BODY_TOO_LARGE', `limit is ${limit} bytes`);
    stream.on('data', (chunk: Buffer | string) => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.length;
      if (size <= limit) chunks.push(buf);
      else if (chunks.length > 0) chunks.length = 0; // over the limit: keep draining, drop what we held
      if (size > limit + DRAIN_CAP) {
        stream.destroy();
        reject(tooLarge());
      }
    });
    stream.once('end', () => (size > limit ? reject(tooLarge()) : resolve(Buffer.concat(chunks, size))));
    stream.once('error', (e) => reject(new RuntimeError('BODY_READ', e.message)));
  });
}
