// --max-body-size on the way back: an invocation's answer (from this sidecar's app, or from another
// sidecar) larger than the limit does not reach the caller. A declared Content-Length over it fails
// the call before anything is sent (500 ERR_DIRECT_INVOKE / RESOURCE_EXHAUSTED); a body that grows
// past it is cut there (an HTTP caller sees the connection end early, a gRPC caller gets
// RESOURCE_EXHAUSTED). Requests are bounded where they come in (the API servers).
import { Transform, type TransformCallback } from 'node:stream';
import type { Invoker } from '../core/invoke/types';
import { RuntimeError } from '../errors/runtime-error';

export function limitResponses(invoker: Invoker, appId: string, max: number): Invoker {
  if (max <= 0) return invoker;
  const tooLarge = () => new RuntimeError('RESPONSE_TOO_LARGE', appId, max);
  return {
    async invoke(req, signal) {
      const res = await invoker.invoke(req, signal);
      // A HEAD answer declares the length of a body it does not carry.
      const declared = req.verb === 'HEAD' ? 0 : Number(res.headers['content-length']?.[0]);
      if (declared > max) {
        if (res.whole === undefined) res.body.destroy();
        throw tooLarge();
      }
      // Read whole already: its size is known, and no counting stream is needed.
      if (res.whole !== undefined) {
        if (res.whole.length > max) throw tooLarge();
        return res;
      }
      let seen = 0;
      const counted = new Transform({
        transform(chunk: Buffer, _enc, done: TransformCallback) {
          seen += chunk.length;
          done(seen > max ? tooLarge() : null, chunk);
        },
      });
      // The caller going away (counted destroyed) releases the source too, and a source failure
      // reaches the caller. Wired by hand: pipeline() costs an AbortController, its DOMException
      // and end-of-stream watchers per call: about a third of an invocation's CPU on each sidecar
      // in an A/B (bench/RESULTS-invoke.md).
      const source = res.body;
      source.on('error', (e) => counted.destroy(e));
      counted.once('close', () => {
        if (!source.readableEnded) source.destroy();
      });
      source.pipe(counted);
      return { ...res, body: counted };
    },
  };
}
