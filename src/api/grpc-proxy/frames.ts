// Follows the gRPC length-prefixed messages in a stream of HTTP/2 DATA chunks (1 byte compressed
// flag, 4 bytes big-endian length, the message) without copying them, to hold proxied calls to
// the sidecar's message size limit as daprd's proxy does (its max call send/receive size).

/** Calls `tooLarge(length)` for the first message longer than `max` bytes; feed it every chunk in order. */
export function messageSizeGuard(max: number, tooLarge: (length: number) => void): (chunk: Buffer) => void {
  const prefix = Buffer.alloc(5);
  let have = 0; // prefix bytes collected
  let remaining = 0; // message bytes still to skip
  let tripped = false;
  return (chunk: Buffer) => {
    let i = 0;
    while (i < chunk.length && !tripped) {
      if (remaining > 0) {
        const skip = Math.min(remaining, chunk.length - i);
        remaining -= skip;
        i += skip;
        continue;
      }
      const take = Math.min(5 - have, chunk.length - i);
      chunk.copy(prefix, have, i, i + take);
      have += take;
      i += take;
      if (have < 5) break;
      have = 0;
      remaining = prefix.readUInt32BE(1);
      if (remaining > max) {
        tripped = true;
        tooLarge(remaining);
      }
    }
  };
}
