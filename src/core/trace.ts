// W3C trace context for the runtime. With tracing off (no Configuration `tracing`, or samplingRate
// "0") only newTraceparent is used and every helper below calls straight through. With tracing on,
// the span of the API call (the tracing filter's) is current through an AsyncLocalStorage, and core
// reads it with currentTrace() to send on to apps, sidecars and CloudEvents. OTel types stay here.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomFillSync } from 'node:crypto';
import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  isSpanContextValid,
  trace,
} from '@opentelemetry/api';
import { parseTraceParent, TraceState } from '@opentelemetry/core';

export { SpanKind };

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** A W3C traceparent in the one form the runtime passes on as it is. */
export const isTraceparent = (tp: string | undefined): tp is string => tp !== undefined && TRACEPARENT.test(tp);

/** Random bytes drawn 4 KiB at a time: randomBytes per call was ~6% of a publish on a profile. */
const POOL = Buffer.alloc(4096);
let poolAt = POOL.length;

/** A fresh traceparent, not sampled: 16 random bytes of trace id, 8 of span id. */
export function newTraceparent(): string {
  if (poolAt + 24 > POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  const at = poolAt;
  poolAt += 24;
  return `00-${POOL.toString('hex', at, at + 16)}-${POOL.toString('hex', at + 16, at + 24)}-00`;
}

/** What goes on the wire: `traceparent` and, when there is one, `tracestate`. */
export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

let tracer: Tracer | undefined;
const active = new AsyncLocalStorage<Context>();

/** Set by the runtime when a tracer provider was built from the Configuration; unset = tracing off. */
export function setTracer(t: Tracer | undefined): void {
  tracer = t;
}

export const tracing = (): Tracer | undefined => tracer;

/** Runs fn with ctx as the current trace context: everything fn starts, awaits included, sees it. */
export function runInContext<T>(ctx: Context, fn: () => T): T {
  return active.run(ctx, fn);
}

/** The current span's traceparent/tracestate; undefined with tracing off or outside any traced call. */
export function currentTrace(): TraceContext | undefined {
  if (!tracer) return undefined;
  const ctx = active.getStore();
  const sc = ctx && trace.getSpanContext(ctx);
  return sc && isSpanContextValid(sc) ? toTraceContext(sc) : undefined;
}

/** The trace context a request carries on: the current span's when tracing is on, else the one given. */
export function outgoingTrace(given: TraceContext | undefined): TraceContext | undefined {
  return currentTrace() ?? given;
}

export function toTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

function toTraceContext(sc: SpanContext): TraceContext {
  const tracestate = sc.traceState?.serialize();
  return tracestate ? { traceparent: toTraceparent(sc), tracestate } : { traceparent: toTraceparent(sc) };
}

/** A remote parent from W3C headers; undefined when the traceparent is absent or invalid (as daprd: a new trace). */
export function parseTraceContext(traceparent: string | undefined, tracestate?: string): SpanContext | undefined {
  if (!traceparent) return undefined;
  const sc = parseTraceParent(traceparent.trim());
  if (!sc || !isSpanContextValid(sc)) return undefined;
  sc.isRemote = true;
  if (tracestate) sc.traceState = new TraceState(tracestate);
  return sc;
}

/**
 * The binary trace context of gRPC's `grpc-trace-bin` (OpenCensus format, which daprd sends between
 * sidecars): version 0, then field 0 trace id (16 bytes), field 1 span id (8), field 2 options (1).
 */
export function toGrpcTraceBin(sc: SpanContext): Buffer {
  const b = Buffer.alloc(29);
  b[1] = 0;
  b.write(sc.traceId, 2, 'hex');
  b[18] = 1;
  b.write(sc.spanId, 19, 'hex');
  b[27] = 2;
  b[28] = sc.traceFlags & 0xff;
  return b;
}

export function fromGrpcTraceBin(b: Buffer): SpanContext | undefined {
  if (b.length < 27 || b[0] !== 0 || b[1] !== 0 || b[18] !== 1) return undefined;
  const sc: SpanContext = {
    traceId: b.toString('hex', 2, 18),
    spanId: b.toString('hex', 19, 27),
    traceFlags: b.length >= 29 && b[27] === 2 ? b[28]! : 0,
    isRemote: true,
  };
  return isSpanContextValid(sc) ? sc : undefined;
}

/** The binary form of a traceparent string, for gRPC metadata; undefined when it is not valid. */
export function grpcTraceBinOf(traceparent: string | undefined): Buffer | undefined {
  const sc = parseTraceContext(traceparent);
  return sc && toGrpcTraceBin(sc);
}

export interface StartedSpan {
  span: Span;
  /** The context with the span in it, for runInContext. */
  context: Context;
}

/** Starts a span under `parent`: a remote span context, null for a new trace, omitted for the current span. */
export function startSpan(name: string, kind: SpanKind, attributes: Attributes, parent?: SpanContext | null): StartedSpan | undefined {
  if (!tracer) return undefined;
  const base = parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : parent === null ? ROOT_CONTEXT : (active.getStore() ?? ROOT_CONTEXT);
  const span = tracer.startSpan(name, { kind, attributes }, base);
  return { span, context: trace.setSpan(base, span) };
}

export function failSpan(span: Span, e: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
}

/**
 * Runs fn under a child span of the current one (a component call: state get/set, publish, an
 * output binding). Outside a traced call, or with tracing off, fn just runs.
 */
export async function withChildSpan<T>(name: string, kind: SpanKind, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  if (!tracer || !active.getStore()) return fn();
  const s = startSpan(name, kind, attributes)!;
  try {
    return await active.run(s.context, fn);
  } catch (e) {
    failSpan(s.span, e);
    throw e;
  } finally {
    s.span.end();
  }
}

/**
 * Runs fn under a span whose parent is the trace context an event carries (daprd's
 * StartInternalCallbackSpan for pub/sub deliveries and input bindings); fn gets the trace context to
 * send to the app (tracing off: the event's own, or a new one). `failed` tells from fn's result
 * whether the span ends in error.
 */
export async function withCallbackSpan<T>(
  name: string,
  attributes: Attributes,
  parent: TraceContext | undefined,
  fn: (trace: TraceContext) => Promise<T>,
  failed: (r: T) => string | undefined = () => undefined,
): Promise<T> {
  if (!tracer) return fn(parent ?? { traceparent: newTraceparent() });
  const s = startSpan(name, SpanKind.CLIENT, attributes, parseTraceContext(parent?.traceparent, parent?.tracestate) ?? null)!;
  try {
    const r = await active.run(s.context, () => fn(toTraceContext(s.span.spanContext())));
    const why = failed(r);
    if (why) s.span.setStatus({ code: SpanStatusCode.ERROR, message: why });
    return r;
  } catch (e) {
    failSpan(s.span, e);
    throw e;
  } finally {
    s.span.end();
  }
}

/**
 * Names the current API span after what it turned out to do, with attributes (daprd renames an
 * invocation's span to CallLocal/<app>/<method>). Only recorded spans are touched.
 */
export function describeCurrentSpan(name: string, attributes: Attributes): void {
  if (!tracer) return;
  const ctx = active.getStore();
  const span = ctx && trace.getSpan(ctx);
  if (!span?.isRecording()) return;
  span.updateName(name);
  span.setAttributes(attributes);
}
