// --max-concurrent-requests: at most `max` calls in progress at once across the Dapr HTTP, Dapr gRPC
// and Layotto gRPC APIs; one more is refused at once (HTTP 503 ERR_TOO_MANY_REQUESTS with
// Retry-After, gRPC UNAVAILABLE) instead of queueing behind the others. A call holds its slot until
// it completes (a gRPC stream: until it ends). The HTTP health endpoints are not counted: probes must
// not fail (and restart the sidecar) because it is busy. Proxied gRPC calls (dapr-app-id on the Dapr
// gRPC port) bypass the filter chain and take their slot from the same InFlightLimit.
import { RuntimeError } from '../../errors/runtime-error';
import { toGrpc } from '../../errors/to-grpc';
import { toHttp } from '../../errors/to-http';
import type { Exchange, Filter, LocalReply } from '../filter';
import { isOpenHttp } from './api-token';

const HELD = 'concurrency';

/** The one count of calls in progress, shared by the filter chain and the gRPC proxy. */
export class InFlightLimit {
  private count = 0;
  readonly refusal: LocalReply;

  constructor(readonly max: number) {
    const err = new RuntimeError('TOO_MANY_IN_FLIGHT', `the limit is ${max} (--max-concurrent-requests)`);
    const http = toHttp(err);
    const grpc = toGrpc(err);
    this.refusal = {
      http: { status: http.status, body: JSON.stringify(http.body), headers: { 'retry-after': '1' } },
      grpc: { code: grpc.code, details: grpc.details },
    };
  }

  get inFlight(): number {
    return this.count;
  }

  /** Takes a slot: its release (idempotent), or undefined when all are taken. */
  hold(): (() => void) | undefined {
    if (this.count >= this.max) return undefined;
    this.count++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.count--;
    };
  }
}

export function concurrencyFilter(limit: number | InFlightLimit): Filter & { readonly inFlight: number } {
  const l = typeof limit === 'number' ? new InFlightLimit(limit) : limit;
  return {
    name: 'concurrency',
    apis: ['dapr-http', 'dapr-grpc', 'layotto-grpc'],
    get inFlight() {
      return l.inFlight;
    },
    onRequest(ex: Exchange) {
      if (ex.protocol === 'http' && isOpenHttp(ex.verb, ex.path)) return undefined;
      const release = l.hold();
      if (!release) return l.refusal;
      ex.attrs.set(HELD, release);
      return undefined;
    },
    onResponse(ex: Exchange) {
      // Called for every exchange, also those refused before this filter saw them.
      const release = ex.attrs.get(HELD) as (() => void) | undefined;
      if (typeof release !== 'function') return;
      ex.attrs.delete(HELD);
      release();
    },
  };
}
