// gRPC's length-prefixed messages on an HTTP/2 stream (1 byte compressed flag, 4 bytes big-endian
// length, the bytes), written and read by hand for the sidecar-to-sidecar hop (both ends).

/** One message on the wire, uncompressed. */
export function frame(msg: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + msg.length);
  out[0] = 0;
  out.writeUInt32BE(msg.length, 1);
  out.set(msg, 5);
  return out;
}

export interface MessageReaderHandlers {
  onMessage(msg: Buffer): void;
  /** The first message over the limit, or a compressed one: the reader stops there. */
  onInvalid(why: 'too-large' | 'compressed', length: number): void;
}

/** Splits DATA chunks into messages; feed it every chunk in order. */
export function messageReader(max: number, h: MessageReaderHandlers): (chunk: Buffer) => void {
  let pending: Buffer | undefined;
  let stopped = false;
  return (chunk: Buffer) => {
    if (stopped) return;
    let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    pending = undefined;
    while (buf.length >= 5) {
      const len = buf.readUInt32BE(1);
      if (len > max || buf[0] !== 0) {
        stopped = true;
        return h.onInvalid(len > max ? 'too-large' : 'compressed', len);
      }
      if (buf.length < 5 + len) break;
      h.onMessage(buf.subarray(5, 5 + len));
      if (stopped) return;
      buf = buf.subarray(5 + len);
    }
    if (buf.length > 0) pending = buf;
  };
}

/** grpc-message is percent-encoded (grpc-js writes encodeURI of the text). */
export function decodeGrpcMessage(v: unknown): string {
  const s = Array.isArray(v) ? v.join(',') : typeof v === 'string' ? v : '';
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
