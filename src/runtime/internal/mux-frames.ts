// The layout of layotto-ts's multiplexed sidecar-to-sidecar calls (mux-client.ts, mux-server.ts).
// Node 20 keeps every closed client Http2Stream alive through the young-generation GCs that follow
// it (about 2.4 KiB promoted per call, so multi-millisecond scavenges on the caller sidecar; see
// bench/RESULTS-invoke.md, "The tail"); one long-lived stream carrying many calls makes none. Each
// gRPC-framed message on that stream is: call id (uint32 BE), kind (1 byte), then the kind's bytes.
// Calls with a body of known length up to CHUNK_BYTES use it; anything else, and any callee that
// does not offer it (daprd answers UNIMPLEMENTED), goes over CallLocalStream as before.
import { CHUNK_BYTES } from './wire';

/** The bidi-streaming method a callee offers the multiplexed calls on (not a Dapr method). */
export const MUX_PATH = '/layotto.internal.v1.CallMux/Calls';

/** Caller → callee. */
export const CALL = 1; // an InternalInvokeRequestStream: the request and its whole body (payload seq 0)
export const CANCEL = 2; // the caller gave up: stop the call, send nothing more for it
export const CREDIT = 3; // uint32: the caller read that many more response body bytes

/** Callee → caller. */
export const HEAD = 4; // an InternalInvokeResponseStream: the response and the body's first piece
export const HEAD_END = 5; // the same, and that was the whole body
export const DATA = 6; // the next piece of the body, raw
export const END = 7; // the body is complete (status OK)
export const FAIL = 8; // uint32 gRPC code, then the details (UTF-8): the call failed
export const REFUSED = 9; // the call was not started (the callee is draining): send it another way

/** Response body bytes a callee may send for one call before the caller grants more (CREDIT). */
export const WINDOW = 4 * CHUNK_BYTES;

/** One message: the gRPC 5-byte prefix, the call id and kind, then `rest`. */
export function muxFrame(id: number, kind: number, rest?: Uint8Array): Buffer {
  const n = rest ? rest.length : 0;
  const out = Buffer.allocUnsafe(10 + n);
  out[0] = 0;
  out.writeUInt32BE(5 + n, 1);
  out.writeUInt32BE(id, 5);
  out[9] = kind;
  if (rest) out.set(rest, 10);
  return out;
}

/** A uint32 message (CREDIT). */
export function muxNumber(id: number, kind: number, value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(value >>> 0, 0);
  return muxFrame(id, kind, b);
}

export function muxFail(id: number, code: number, details: string): Buffer {
  const text = Buffer.from(details, 'utf8');
  const b = Buffer.allocUnsafe(4 + text.length);
  b.writeUInt32BE(code, 0);
  text.copy(b, 4);
  return muxFrame(id, FAIL, b);
}

/** A message's parts (`msg` is one gRPC message without its prefix); undefined when too short. */
export function muxParse(msg: Buffer): { id: number; kind: number; rest: Buffer } | undefined {
  if (msg.length < 5) return undefined;
  return { id: msg.readUInt32BE(0), kind: msg[4]!, rest: msg.subarray(5) };
}

/** Whether a request body can go over the multiplexed stream: known and small. */
export const muxable = (length: number | undefined): boolean => length !== undefined && length <= CHUNK_BYTES;
