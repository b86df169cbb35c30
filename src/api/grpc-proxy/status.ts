// gRPC statuses the proxy answers with itself, and what a gRPC client makes of an HTTP/2 reset, so
// a failure reads the same through the proxy as on a direct connection.
import { constants as h2, type OutgoingHttpHeaders } from 'node:http2';
import { status } from '@grpc/grpc-js';

/** A failure the proxy reports as a gRPC status of its own. */
export class ProxyError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'ProxyError';
  }
}

/** grpc-js's (and grpc-go's) reading of a RST_STREAM code. */
export function rstStatus(rstCode: number): status {
  switch (rstCode) {
    case h2.NGHTTP2_REFUSED_STREAM:
      return status.UNAVAILABLE;
    case h2.NGHTTP2_CANCEL:
      return status.CANCELLED;
    case h2.NGHTTP2_ENHANCE_YOUR_CALM:
      return status.RESOURCE_EXHAUSTED;
    case h2.NGHTTP2_INADEQUATE_SECURITY:
      return status.PERMISSION_DENIED;
    default:
      return status.INTERNAL;
  }
}

/** grpc-status / grpc-message (percent-encoded, as grpc-js writes it). */
export const statusHeaders = (code: status, message: string): OutgoingHttpHeaders => ({ 'grpc-status': String(code), 'grpc-message': encodeURI(message) });

/** A response that is only a status (HEADERS with END_STREAM). */
export const trailersOnly = (code: status, message: string): OutgoingHttpHeaders => ({
  ':status': 200,
  'content-type': 'application/grpc',
  ...statusHeaders(code, message),
});
