// daprd's DaprTraceSampler: a sampled parent is always followed; otherwise (no parent, or one not
// sampled) the trace id decides at samplingRate. Not OTel's ParentBased, which would also follow an
// unsampled parent and so never sample a caller that sends flags 00.
import { type Context, isSpanContextValid, trace, TraceFlags } from '@opentelemetry/api';
import { type Sampler, SamplingDecision, type SamplingResult, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';

/** daprd's fallback when samplingRate does not parse as a number. */
const UNPARSABLE_RATE = 1e-4;

/** spec.tracing.samplingRate as a number: absent or empty = 1 (tracing configured means on). */
export function samplingRate(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 1;
  const n = Number(value);
  return Number.isFinite(n) ? n : UNPARSABLE_RATE;
}

export class DaprSampler implements Sampler {
  private readonly ratio: TraceIdRatioBasedSampler;

  constructor(private readonly rate: number) {
    this.ratio = new TraceIdRatioBasedSampler(rate);
  }

  shouldSample(ctx: Context, traceId: string): SamplingResult {
    const parent = trace.getSpanContext(ctx);
    if (parent && isSpanContextValid(parent) && (parent.traceFlags & TraceFlags.SAMPLED) !== 0) return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    return this.ratio.shouldSample(ctx, traceId);
  }

  toString(): string {
    return `DaprTraceSampler(P=${this.rate})`;
  }
}
