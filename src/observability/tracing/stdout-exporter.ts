// `tracing.stdout: true`: one info line per finished span, in daprd's StdoutExporter wording.
import { ExportResultCode, hrTimeToMilliseconds, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';

const iso = (t: ReadableSpan['startTime']) => new Date(hrTimeToMilliseconds(t)).toISOString();

export class StdoutSpanExporter implements SpanExporter {
  constructor(private readonly log: Logger) {}

  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    for (const s of spans) {
      const sc = s.spanContext();
      const parent = s.parentSpanContext?.spanId ?? '0000000000000000';
      this.log.info(`[${s.name}] Trace: ${sc.traceId} Span: ${parent}/${sc.spanId} Time: [${iso(s.startTime)} ->  ${iso(s.endTime)}] Annotations: ${JSON.stringify(s.events.map((e) => e.name))}`);
    }
    done({ code: ExportResultCode.SUCCESS });
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
