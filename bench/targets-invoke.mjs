// Request functions for the service invocation benchmark, same shape as targets.mjs (`call(i)`
// resolves once the whole response has been read, throws on anything else). One undici keep-alive
// Pool per target, the same for the direct path (straight to the app) and the sidecar paths
// (/v1.0/invoke/<app-id>/method/<m> on a sidecar's Dapr HTTP port); only the port and path differ.
// Every request is bounded by TIMEOUT_MS from the moment it is sent.
import { Pool } from 'undici';
import { TIMEOUT_MS } from './targets.mjs';

/**
 * spec: { port, path, verb: 'GET'|'POST', bodyBytes (request body for POST), expectBytes
 *         (the app's answer size; anything else is an error), connections? (pool size) }
 */
export function makeTarget(spec) {
  const { port, path, verb = 'GET', bodyBytes = 100, expectBytes, connections = 32 } = spec;
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS });
  const body = verb === 'GET' ? undefined : Buffer.alloc(bodyBytes, 'y');
  const headers = body ? { 'content-type': 'application/octet-stream' } : {};
  return {
    close: () => pool.close(),
    async call() {
      // 5 s from the send, time queued in the pool included: past capacity, an open loop ends
      // at most 5 s after its last send, with the late requests counted as errors.
      // The pool's headersTimeout and bodyTimeout bound the call. No AbortSignal.timeout per call:
      // each keeps a timer alive for TIMEOUT_MS (5,000 at 1000 req/s), and the generator's GC of
      // them stalled it 20-26 ms every ~4 s, at the same offsets in the direct and sidecar rows.
      const res = await pool.request({ method: verb, path, headers, body });
      const got = await res.body.arrayBuffer();
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode} ${Buffer.from(got).toString().slice(0, 80)}`);
      if (expectBytes !== undefined && got.byteLength !== expectBytes) throw new Error(`answer of ${got.byteLength} bytes, want ${expectBytes}`);
    },
  };
}
