// Chunked transfer coding, both ways, for the proxy's own HTTP/1.1 readers (requests off the
// listener's sockets, answers off the upstream pool's) and writers. Strict as a proxy must be:
// hex sizes only, CRLF after every chunk's data, a size line no longer than MAX_CHUNK_LINE.
import type { Readable } from 'node:stream';
import type { Socket } from 'node:net';

const MAX_CHUNK_LINE = 4096;
const CRLF = Buffer.from('\r\n');
const CRLF2 = Buffer.from('\r\n\r\n');
const CHUNK_SIZE = /^[0-9a-fA-F]{1,12}$/;

const enum State {
  Size,
  Data,
  DataEnd,
  Trailers,
  Done,
}

/** Decodes one chunked body; its parser hands it bytes from where the body starts. */
export class ChunkedDecoder {
  private state = State.Size;
  private remaining = 0;
  /** The trailer section's lines (without the final empty line), when the body ended with some. */
  trailers: string | undefined;
  /** After decode() stopped short: how long the incomplete piece it stopped at may grow. */
  limit = 0;

  constructor(
    /** How long a trailer section may be. */
    private readonly maxTrailers: number,
  ) {}

  get done(): boolean {
    return this.state === State.Done;
  }

  /**
   * Decodes buf from i, handing data on; returns where it stopped: the body's end (done), or the
   * start of a line not complete yet (`limit` bounds it). Throws an Error saying what is malformed.
   */
  decode(buf: Buffer, i: number, data: (chunk: Buffer) => void): number {
    while (i < buf.length) {
      switch (this.state) {
        case State.Size: {
          const eol = buf.indexOf(CRLF, i);
          if (eol < 0) return this.short(i, MAX_CHUNK_LINE);
          const line = buf.toString('latin1', i, eol);
          const semi = line.indexOf(';');
          const hex = (semi < 0 ? line : line.slice(0, semi)).trim();
          if (!CHUNK_SIZE.test(hex)) throw new Error(`bad chunk size ${JSON.stringify(line.slice(0, 40))}`);
          this.remaining = parseInt(hex, 16);
          i = eol + 2;
          this.state = this.remaining === 0 ? State.Trailers : State.Data;
          break;
        }
        case State.Data: {
          const n = Math.min(this.remaining, buf.length - i);
          this.remaining -= n;
          data(buf.subarray(i, i + n));
          i += n;
          if (this.remaining === 0) this.state = State.DataEnd;
          break;
        }
        case State.DataEnd: {
          if (buf.length - i < 2) return this.short(i, 2);
          if (buf[i] !== 13 || buf[i + 1] !== 10) throw new Error('chunk data not followed by CRLF');
          i += 2;
          this.state = State.Size;
          break;
        }
        case State.Trailers: {
          // CRLF at once (no trailers), or trailer lines up to an empty line.
          if (buf.length - i >= 2 && buf[i] === 13 && buf[i + 1] === 10) {
            this.state = State.Done;
            return i + 2;
          }
          const end = buf.indexOf(CRLF2, i);
          if (end < 0) return this.short(i, this.maxTrailers);
          this.trailers = buf.toString('latin1', i, end);
          this.state = State.Done;
          return end + 4;
        }
        case State.Done:
          return i;
      }
    }
    return i;
  }

  private short(i: number, limit: number): number {
    this.limit = limit;
    return i;
  }
}

/**
 * Writes a readable's chunks to a socket with backpressure, chunk-framed when `chunked` (size line,
 * data and CRLF in one writev). `live` false drops a chunk (the exchange was given up). The caller
 * ends the body (the last chunk and trailers) on the readable's 'end'.
 */
export function writeBody(src: Readable, socket: Socket, chunked: boolean, live: (chunk: Buffer) => boolean): void {
  const resume = () => src.resume();
  src.on('data', (c: Buffer) => {
    if (!live(c)) return;
    let ok: boolean;
    if (chunked) {
      // All three parts, whatever write() says about the buffer: one writev once uncorked.
      socket.cork();
      socket.write(`${c.length.toString(16)}\r\n`, 'latin1');
      socket.write(c);
      ok = socket.write('\r\n', 'latin1');
      socket.uncork();
    } else ok = socket.write(c);
    if (!ok) {
      src.pause();
      socket.once('drain', resume);
    }
  });
}
