// proxy.tracing: a SERVER span per proxied request on the sidecar's tracer (the Configuration's
// tracing section), continuing the caller's trace (traceparent/tracestate, or grpc-trace-bin), and
// the request goes upstream with the new span as its parent: traceparent (tracestate, and
// grpc-trace-bin when the caller sent one) are replaced in Exchange.headers, which the forwarder
// sends when the chain is not empty. Span names stay low-cardinality (`GET <route>`, the gRPC full
// method); attributes use Envoy's tag names. With tracing off the filter applies to nothing.
import { STATUS_CODES } from 'node:http';
import { type Attributes, type Span, SpanStatusCode } from '@opentelemetry/api';
import { z } from 'zod';
import { SpanKind, startSpan, toGrpcTraceBin, toTraceparent, tracing } from '../../../core/trace';
import type { Exchange, Filter } from '../../filter';
import type { FilterFactory } from '../../registry';
import { incomingParent } from '../tracing';
import { clusterOf, headerValue, inactive, PROXY_APIS, parseSettings, routeOf } from './common';

export const PROXY_TRACING_TYPE = 'proxy.tracing';

export const proxyTracing: FilterFactory = (settings, ctx) => {
  parseSettings(PROXY_TRACING_TYPE, z.strictObject({}), settings);
  if (!tracing()) {
    ctx.log.info(`${PROXY_TRACING_TYPE}: tracing is off (no tracing in the Configuration); proxied requests get no spans`);
    return inactive(PROXY_TRACING_TYPE);
  }
  return proxyTracingFilter();
};

function spanName(ex: Exchange): string {
  if (ex.protocol === 'grpc') return ex.path;
  const route = routeOf(ex);
  return route ? `${ex.verb} ${route}` : ex.verb;
}

/** Points the request's trace headers at the proxy's span, so the upstream's spans are its children. */
function propagate(ex: Exchange, span: Span): void {
  const sc = span.spanContext();
  ex.headers.traceparent = toTraceparent(sc);
  const ts = sc.traceState?.serialize();
  if (ts) ex.headers.tracestate = ts;
  else delete ex.headers.tracestate;
  if (ex.headers['grpc-trace-bin'] !== undefined) ex.headers['grpc-trace-bin'] = toGrpcTraceBin(sc).toString('base64');
}

function finish(span: Span, ex: Exchange): void {
  const status = ex.status;
  if (span.isRecording()) {
    const p = ex.proxy;
    const a: Attributes = { route_name: routeOf(ex), upstream_cluster: clusterOf(ex), request_size: ex.requestBytes ?? 0, response_size: ex.responseBytes ?? 0 };
    if (p?.upstream) a.upstream_address = p.upstream;
    if (p?.upstreamStatus !== undefined) a.upstream_status = p.upstreamStatus;
    if (p?.retries) a.retries = p.retries;
    if (status !== undefined) a[ex.protocol === 'grpc' ? 'grpc.status_code' : 'http.status_code'] = status;
    if (ex.errorCode) a.response_flags = ex.errorCode;
    span.setAttributes(a);
  }
  if (status === undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: 'downstream closed before the answer' });
  else if (ex.protocol === 'http' && status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: `Code(${status}): ${STATUS_CODES[status] ?? 'Unknown'}` });
  else if (ex.protocol === 'grpc' && status !== 0) span.setStatus({ code: SpanStatusCode.ERROR, message: ex.message ?? `gRPC status ${status}` });
  span.end();
}

export function proxyTracingFilter(): Filter {
  return {
    name: PROXY_TRACING_TYPE,
    apis: PROXY_APIS,
    onRequest(ex) {
      const attributes: Attributes = {
        component: 'proxy',
        'http.method': ex.verb,
        'http.url': ex.path,
        'http.protocol': ex.protocol === 'grpc' ? 'gRPC' : 'HTTP',
        'peer.address': ex.remoteAddress,
        listener: ex.proxy?.listener ?? '',
      };
      const ua = headerValue(ex, 'user-agent');
      if (ua) attributes.user_agent = ua;
      const id = headerValue(ex, 'x-request-id');
      if (id) attributes['guid:x-request-id'] = id;
      const s = startSpan(spanName(ex), SpanKind.SERVER, attributes, incomingParent(ex) ?? null);
      if (!s) return undefined; // the tracer went away (shutdown)
      ex.attrs.set(PROXY_TRACING_TYPE, s.span);
      propagate(ex, s.span);
      return undefined;
    },
    onResponse(ex) {
      const span = ex.attrs.get(PROXY_TRACING_TYPE) as Span | undefined;
      if (span) finish(span, ex);
    },
  };
}
