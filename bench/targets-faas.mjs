// Request functions for the FaaS benchmark, same shape as targets.mjs (`call(i)` resolves once the
// whole answer is read): one undici keep-alive Pool per target; a spec names the port, path,
// headers and the status and body size every answer must have.
import { Pool } from 'undici';
import { TIMEOUT_MS } from './targets.mjs';

/** spec: { port, path, headers?, status (expected), bytes (expected body size), connections? } */
export function makeTarget(spec) {
  const { port, path, headers = {}, status = 200, bytes, connections = 16 } = spec;
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS });
  return {
    close: () => pool.close(),
    async call() {
      const res = await pool.request({ method: 'GET', path, headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
      const got = await res.body.arrayBuffer();
      if (res.statusCode !== status) throw new Error(`status ${res.statusCode} ${Buffer.from(got).toString().slice(0, 80)}`);
      if (bytes !== undefined && got.byteLength !== bytes) throw new Error(`answer of ${got.byteLength} bytes, want ${bytes}`);
    },
  };
}
