// The tracing filter (daprd's HTTPTraceMiddleware and gRPC trace interceptors): one span per API
// call, the caller's trace context as its parent (W3C traceparent/tracestate headers or metadata,
// and on gRPC the binary grpc-trace-bin first, as daprd reads it). Calls on the Dapr and Layotto
// APIs get CLIENT spans named after the path or full method (daprd's choice: the sidecar acts for
// the app); calls from other sidecars get SERVER spans. The span is the handler's current context
// (Exchange.run), so what core sends on carries it; it ends with the answer's status.
import { STATUS_CODES } from 'node:http';
import { type Attributes, type Span, type SpanContext, SpanStatusCode } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { fromGrpcTraceBin, parseTraceContext, runInContext, SpanKind, startSpan } from '../../core/trace';
import type { Exchange, Filter } from '../filter';

const NAME = 'tracing';
/** The status an HTTP exchange gets when the client went away first. */
const CLIENT_CLOSED = 499;

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
const last = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[v.length - 1] : v);

/** The caller's span context: grpc-trace-bin (gRPC), else traceparent; with the tracestate sent beside either. */
export function incomingParent(ex: Pick<Exchange, 'protocol' | 'headers'>): SpanContext | undefined {
  const ts = ex.headers.tracestate;
  const tracestate = Array.isArray(ts) ? ts.join(',') : ts;
  if (ex.protocol === 'grpc') {
    const bin = first(ex.headers['grpc-trace-bin']);
    const sc = bin ? fromGrpcTraceBin(Buffer.from(bin, 'base64')) : undefined;
    // The binary form has no tracestate: the metadata's goes with it (sidecar-to-sidecar calls send both).
    if (sc) return tracestate ? { ...sc, traceState: new TraceState(tracestate) } : sc;
  }
  return parseTraceContext(first(ex.headers.traceparent), tracestate);
}

/** Route parameters by aligning the route template (`/v1.0/state/:storeName/:key`) with the path. */
function routeParams(route: string, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  const t = route.split('/');
  const p = path.split('/');
  for (let i = 0; i < t.length && i < p.length; i++) {
    const seg = t[i]!;
    if (seg.startsWith(':')) out[seg.slice(1)] = decodeURIComponent(p[i]!);
    else if (seg === '*') out['*'] = p.slice(i).map(decodeURIComponent).join('/');
  }
  return out;
}

/** daprd's per building block span attributes on the HTTP API (its endpoint groups' AppendSpanAttributes). */
function httpBlockAttributes(ex: Exchange, a: Attributes): void {
  const params = routeParams(ex.route, ex.path);
  const block = ex.route.split('/')[2] ?? '';
  const db = (system: string, name: string | undefined) => {
    a['db.system'] = system;
    a['db.connection_string'] = system;
    a['db.statement'] = `${ex.verb} ${ex.path}`;
    if (name) a['db.name'] = name;
  };
  switch (block) {
    case 'state':
      return db('state', params.storeName);
    case 'secrets':
      return db('secrets', params.secretStoreName ?? params.storeName);
    case 'bindings':
      return db('bindings', params.name);
    case 'publish':
      a['messaging.system'] = 'pubsub';
      a['messaging.destination.name'] = params['*'] ?? params.topic ?? '';
      return;
    case 'invoke':
      a['rpc.service'] = 'ServiceInvocation';
      if (params.id) a['net.peer.name'] = params.id;
  }
}

/** Headers the caller prefixed with dapr- to see them on the span (daprd's userDefinedHTTPHeaders), minus the API token. */
function userAttributes(ex: Exchange, a: Attributes): void {
  for (const [k, v] of Object.entries(ex.headers)) {
    if (!k.startsWith('dapr-') || k === 'dapr-api-token' || k.endsWith('-bin')) continue;
    const value = last(v);
    if (value) a[k] = value;
  }
}

function finish(span: Span, ex: Exchange): void {
  const status = ex.status ?? CLIENT_CLOSED;
  if (span.isRecording()) {
    const a: Attributes = {};
    userAttributes(ex, a);
    if (ex.protocol === 'http') {
      httpBlockAttributes(ex, a);
      a['dapr.protocol'] = 'http';
      a['dapr.api'] = `${ex.verb} ${ex.path}`;
      a['dapr.status_code'] = String(status);
    } else {
      a['rpc.system'] = 'grpc';
      a['rpc.service'] ??= ex.api === 'internal' ? 'ServiceInvocation' : (ex.path.split('/')[1]?.split('.').pop() ?? '');
      a['dapr.protocol'] = 'grpc';
      a['dapr.api'] = ex.path;
    }
    span.setAttributes(a);
  }
  if (ex.protocol === 'http' && status >= 400) span.setStatus({ code: SpanStatusCode.ERROR, message: `Code(${status}): ${STATUS_CODES[status] ?? 'Unknown'}` });
  else if (ex.protocol === 'grpc' && status !== 0) span.setStatus({ code: SpanStatusCode.ERROR, message: ex.message ?? '' });
  span.end();
}

export function tracingFilter(): Filter {
  return {
    name: NAME,
    onRequest(ex) {
      // daprd leaves health probes untraced.
      if (ex.protocol === 'http' && ex.path.includes('/healthz')) return undefined;
      const kind = ex.api === 'internal' ? SpanKind.SERVER : SpanKind.CLIENT;
      const s = startSpan(ex.path, kind, {}, incomingParent(ex) ?? null);
      if (!s) return undefined;
      ex.attrs.set(NAME, s.span);
      const outer = ex.run;
      ex.run = outer ? (fn) => runInContext(s.context, () => outer(fn)) : (fn) => runInContext(s.context, fn);
      return undefined;
    },
    onResponse(ex) {
      const span = ex.attrs.get(NAME) as Span | undefined;
      if (span) finish(span, ex);
    },
  };
}
