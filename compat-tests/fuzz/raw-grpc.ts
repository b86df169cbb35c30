// A raw gRPC-over-HTTP/2 client: the fuzzers send length-prefixed frames as bytes (valid messages,
// protobuf garbage, truncated prefixes, a compressed flag without grpc-encoding) and read the
// status from headers or trailers. A stream the server keeps open (a subscription) is cancelled
// after `openMs` and reported as "open".
import { connect, constants, type ClientHttp2Session } from 'node:http2';

export interface GrpcCall {
  /** /package.Service/Method */
  path: string;
  /** The request body: already framed (see frame()) or deliberately broken bytes. */
  body: Buffer;
  metadata?: Record<string, string>;
}

export interface GrpcAnswer {
  /** grpc-status, or 'open' (still streaming when cancelled), or 'reset' (stream reset, no status). */
  status: number | 'open' | 'reset';
  message: string;
  httpStatus: number;
}

/** One gRPC message frame: compressed flag, 4-byte big-endian length, payload. */
export function frame(payload: Buffer, compressed = false, length = payload.length): Buffer {
  const head = Buffer.alloc(5);
  head[0] = compressed ? 1 : 0;
  head.writeUInt32BE(length >>> 0, 1);
  return Buffer.concat([head, payload]);
}

export class RawGrpcClient {
  private session?: ClientHttp2Session;

  constructor(private readonly port: number) {}

  private connection(): ClientHttp2Session {
    if (!this.session || this.session.destroyed || this.session.closed) {
      this.session = connect(`http://127.0.0.1:${this.port}`);
      this.session.on('error', () => undefined); // a GOAWAY or reset shows up on the next call
    }
    return this.session;
  }

  /** `openMs`: for streaming answers, how long an open stream is waited on before it counts as "open". */
  call(c: GrpcCall, openMs?: number, hangMs = 15000): Promise<GrpcAnswer> {
    return new Promise((resolve, reject) => {
      const headers = { ':method': 'POST', ':path': c.path, 'content-type': 'application/grpc', te: 'trailers', ...c.metadata };
      let req;
      try {
        req = this.connection().request(headers);
      } catch (e) {
        this.session?.destroy();
        reject(e);
        return;
      }
      let httpStatus = 0;
      let status: number | undefined;
      let message = '';
      const read = (h: Record<string, unknown>) => {
        if (h['grpc-status'] !== undefined) status = Number(h['grpc-status']);
        if (typeof h['grpc-message'] === 'string') message = decodeURIComponent(h['grpc-message']);
      };
      const openTimer =
        openMs === undefined
          ? undefined
          : setTimeout(() => {
              if (status === undefined) req.close(constants.NGHTTP2_CANCEL);
              resolve({ status: 'open', message: '', httpStatus });
            }, openMs);
      const hangTimer = setTimeout(() => {
        req.close(constants.NGHTTP2_CANCEL);
        reject(new Error(`${c.path}: no status within ${hangMs} ms`));
      }, hangMs);
      const done = (s: GrpcAnswer['status']) => {
        clearTimeout(openTimer);
        clearTimeout(hangTimer);
        resolve({ status: s, message, httpStatus });
      };
      req.on('response', (h) => {
        httpStatus = Number(h[':status']);
        read(h);
      });
      req.on('trailers', read);
      req.on('data', () => undefined);
      req.on('error', () => undefined);
      req.on('close', () => done(status ?? 'reset'));
      req.end(c.body);
    });
  }

  close(): void {
    this.session?.close();
  }
}
