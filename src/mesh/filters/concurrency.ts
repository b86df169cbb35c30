// --max-concurrent-requests: at most `max` calls in progress at once across the Dapr HTTP, Dapr gRPC
// and Layotto gRPC APIs; one more is refused at once (HTTP 503 ERR_TOO_MANY_REQUESTS with
// Retry-After, gRPC UNAVAILABLE) instead of queueing behind the others. A call holds its slot until
// it completes (a gRPC stream: until it ends). The HTTP health endpoints are not counted: probes must
// not fail (and restart the sidecar) because it is busy.
import { RuntimeError } from '../../errors/runtime-error';
import { toGrpc } from '../../errors/to-grpc';
import { toHttp } from '../../errors/to-http';
import type { Exchange, Filter, LocalReply } from '../filter';
import { isOpenHttp } from './api-token';

const HELD = 'concurrency';

export function concurrencyFilter(max: number): Filter & { readonly inFlight: number } {
  const err = new RuntimeError('TOO_MANY_IN_FLIGHT', `the limit is ${max} (--max-concurrent-requests)`);
  const http = toHttp(err);
  const grpc = toGrpc(err);
  const refusal: LocalReply = {
    http: { status: http.status, body: JSON.stringify(http.body), headers: { 'retry-after': '1' } },
    grpc: { code: grpc.code, details: grpc.details },
  };
  let inFlight = 0;
  return {
    name: 'concurrency',
    apis: ['dapr-http', 'dapr-grpc', 'layotto-grpc'],
    get inFlight() {
      return inFlight;
    },
    onRequest(ex: Exchange) {
      if (ex.protocol === 'http' && isOpenHttp(ex.verb, ex.path)) return undefined;
      if (inFlight >= max) return refusal;
      inFlight++;
      ex.attrs.set(HELD, true);
      return undefined;
    },
    onResponse(ex: Exchange) {
      // Called for every exchange, also those refused before this filter saw them.
      if (ex.attrs.get(HELD) !== true) return;
      ex.attrs.delete(HELD);
      inFlight--;
    },
  };
}
