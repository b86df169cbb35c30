// A request body that a retry can send again without buffering it before the first attempt
// (daprd's replayable request). The first attempt streams the body as it arrives while a copy of
// up to `cap` bytes is kept; a later attempt gets that copy followed by whatever is still arriving.
// A body larger than `cap` streams just as well, but only once.
import { PassThrough, Readable } from 'node:stream';

export class BodyNotReplayableError extends Error {
  constructor(cap: number) {
    super(`the request body (over ${cap} bytes) was streamed to an earlier attempt and cannot be sent again`);
    this.name = 'BodyNotReplayableError';
  }
}

export class ReplayableBody {
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;
  private overflow = false;
  private ended = false;
  private failed?: Error;
  private current?: PassThrough;
  private attempts = 0;
  private pumping = false;

  constructor(
    private readonly src: Readable,
    private readonly cap: number,
  ) {}

  /** The body for one attempt (the previous attempt's stream is cut off). */
  open(): Readable {
    if (this.attempts++ > 0 && this.overflow) throw new BodyNotReplayableError(this.cap);
    const previous = this.current;
    const out = new PassThrough();
    this.current = out;
    if (previous && !previous.destroyed) previous.destroy();
    for (const c of this.kept) out.write(c);
    if (this.failed) out.destroy(this.failed);
    else if (this.ended) out.end();
    else this.pump();
    return out;
  }

  /** Stops reading the source (nobody will send the rest). */
  discard(): void {
    this.overflow = true;
    this.current?.destroy();
    this.current = undefined;
    this.kept.length = 0;
    if (!this.ended) this.src.resume();
  }

  private pump(): void {
    if (this.pumping) {
      this.src.resume(); // it may have paused for the previous attempt's stream
      return;
    }
    this.pumping = true;
    this.src.on('data', (chunk: Buffer | string) => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (!this.overflow) {
        if (this.keptBytes + buf.length > this.cap) {
          this.overflow = true;
          this.kept.length = 0;
        } else {
          this.kept.push(buf);
          this.keptBytes += buf.length;
        }
      }
      const out = this.current;
      if (!out || out.destroyed) return; // discarded: drain the source
      if (!out.write(buf)) {
        this.src.pause();
        out.once('drain', () => {
          if (out === this.current) this.src.resume();
        });
      }
    });
    this.src.once('end', () => {
      this.ended = true;
      this.current?.end();
    });
    this.src.once('error', (e) => {
      this.failed = e;
      this.current?.destroy(e);
    });
  }
}

/**
 * A body known to be empty (Content-Length: 0, a GET): the first attempt gets the source itself,
 * which ends on its own, a retry a new empty stream; no copy and no second stream per call.
 */
export class EmptyBody {
  private opened = false;

  constructor(private readonly src: Readable) {}

  open(): Readable {
    if (this.opened) return emptyStream();
    this.opened = true;
    return this.src;
  }

  discard(): void {
    if (!this.src.readableEnded) this.src.resume();
  }
}

/** A body with nothing in it, already ended (lighter than an ended PassThrough). */
class EmptyStream extends Readable {
  constructor() {
    super({ read: () => undefined });
    this.push(null);
  }
}

export function emptyStream(): Readable {
  return new EmptyStream();
}

/**
 * Lets a request body that will not be read run to its end (its source may wait on that); one
 * of emptyStream()'s needs nothing, and resuming it cost a few ticks and ~1 KB on every GET.
 */
export function letEnd(body: Readable): void {
  if (!(body instanceof EmptyStream)) body.resume();
}
