// Requests node's HTTP parser refuses (a control character in a header, a byte that is not a
// token in the method, broken chunked framing, headers past the limit) are answered as Go's
// net/http answers them for daprd: a short text/plain status line and the connection closed, not
// fastify's default JSON (which is neither daprd's envelope nor its text).
import type { Socket } from 'node:net';

const goErrorHeaders = '\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n';

/** Go's text for a parser error: "431 Request Header Fields Too Large" or "400 Bad Request". */
export function clientErrorText(code: string | undefined): string {
  if (code === 'HPE_HEADER_OVERFLOW') return '431 Request Header Fields Too Large';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return '408 Request Timeout';
  return '400 Bad Request';
}

export function goClientError(err: Error & { code?: string }, socket: Socket): void {
  // A reset connection has no one to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const text = clientErrorText(err.code);
  if (socket.writable) socket.write(`HTTP/1.1 ${text}${goErrorHeaders}${text}`);
  socket.destroy();
}
