// What daprd sends with a delivery besides the body, whatever the protocol: the broker metadata
// (plus `pubsubName`, which daprd adds to it), the trace context the event carries, and the app
// token. HTTP sends these as headers, gRPC as call metadata; each side drops what its wire refuses.

export interface DeliveryHeaderInput {
  metadata: Record<string, string>;
  pubsubName: string;
  /** The event the trace context is read from (traceparent, else traceid; tracestate; baggage). */
  cloudEvent?: Record<string, unknown>;
  /** The delivery span's trace context, when tracing is on: wins over the event's. */
  trace?: { traceparent: string; tracestate?: string };
  appApiToken?: string;
}

/** The broker metadata as daprd hands it to the postman: with `pubsubName` set to the component. */
export const withPubsubName = (metadata: Record<string, string>, pubsubName: string): Record<string, string> => ({
  ...metadata,
  pubsubName,
});

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Lower-case name → value; later sources win (the token over a metadata key of the same name). */
export function deliveryHeaders(input: DeliveryHeaderInput): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(withPubsubName(input.metadata, input.pubsubName))) {
    if (typeof v === 'string') out.set(k.toLowerCase(), v);
  }
  const ce = input.cloudEvent;
  if (ce) {
    const traceparent = str(ce.traceparent) ?? str(ce.traceid);
    if (traceparent) out.set('traceparent', traceparent);
    const tracestate = str(ce.tracestate);
    if (tracestate) out.set('tracestate', tracestate);
    const baggage = str(ce.baggage);
    if (baggage) out.set('baggage', baggage);
  }
  if (input.trace) {
    out.set('traceparent', input.trace.traceparent);
    if (input.trace.tracestate) out.set('tracestate', input.trace.tracestate);
    else out.delete('tracestate');
  }
  if (input.appApiToken) out.set('dapr-api-token', input.appApiToken);
  return out;
}
