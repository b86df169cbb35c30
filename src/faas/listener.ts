// The functions port (Layotto's `wasm` listener, :2045): the `id` header names the function, the
// request (method, path with query, headers, body) goes to it, its answer is written back. Layotto
// silently stops a request without a known id; here it gets 400 (no id) or 404 (unknown id), and a
// failed call gets the status of its failure kind with `{"error", "kind"}` (answers.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { failureAnswer } from './answers';
import { BodyTooLarge, readBody, sendJson } from './http-io';
import type { FunctionHost, FunctionRequest, FunctionResponse } from './types';

/** Headers the HTTP server writes itself: a function's own values would contradict the body sent. */
const FRAMING = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);

export function functionsHandler(host: FunctionHost, opts: { maxBodySize: number }): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const id = req.headers.id;
    if (typeof id !== 'string' || id === '') {
      req.resume();
      return sendJson(res, 400, { error: 'missing header "id": it names the function to call' });
    }
    if (!host.has(id)) {
      req.resume();
      return sendJson(res, 404, { error: `function ${id} is not installed`, kind: 'not_found' });
    }
    readBody(req, opts.maxBodySize)
      .then((body) => host.call(id, toFunctionRequest(req, body)))
      .then(
        (answer) => write(res, answer),
        (e: unknown) => {
          if (e instanceof BodyTooLarge) return sendJson(res, 413, { error: e.message });
          const a = failureAnswer(e);
          sendJson(res, a.status, a.body);
        },
      );
  };
}

function toFunctionRequest(req: IncomingMessage, body: Buffer): FunctionRequest {
  const headers: Array<[string, string]> = [];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  return { method: req.method ?? 'GET', path: req.url ?? '/', headers, body };
}

function write(res: ServerResponse, answer: FunctionResponse): void {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of answer.headers) {
    const name = k.toLowerCase();
    if (FRAMING.has(name)) continue;
    const prev = headers[name];
    headers[name] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  headers['content-length'] = String(answer.body.length);
  res.writeHead(answer.status || 200, headers);
  res.end(answer.body);
}
