// The trace context on a sidecar-to-sidecar call's own metadata, where the callee's tracing filter
// reads it: traceparent/tracestate, and daprd's binary grpc-trace-bin (which daprd reads first).
import { grpcTraceBinOf } from '../../core/trace';
import type { Headers } from '../../core/invoke/types';

export function traceMetadata(h: Headers): Record<string, string> {
  const traceparent = h.traceparent?.[0];
  if (!traceparent) return {};
  const out: Record<string, string> = { traceparent };
  const tracestate = h.tracestate?.join(',');
  if (tracestate) out.tracestate = tracestate;
  const bin = grpcTraceBinOf(traceparent);
  if (bin) out['grpc-trace-bin'] = bin.toString('base64');
  return out;
}
