// The tracer provider daprd builds from Configuration `spec.tracing` (pkg/runtime setupTracing):
// resource service.name = app id, the Dapr sampler at samplingRate, and one batch exporter per
// configured target (stdout, zipkin.endpointAddress, otel over http/protobuf or gRPC). No tracing
// section, or samplingRate "0", means no provider at all: nothing is recorded and nothing costs.
import * as grpc from '@grpc/grpc-js';
import type { Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpGrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
// http/protobuf, as daprd's otlptracehttp sends it (the -http package would send JSON).
import { OTLPTraceExporter as OtlpHttpExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { Logger } from 'pino';
import type { TracingConfig } from '../../config/tracing';
import { DaprSampler, samplingRate } from './sampler';
import { StdoutSpanExporter } from './stdout-exporter';

export interface Tracing {
  tracer: Tracer;
  /** Exports what is still buffered, then stops the exporters. */
  shutdown(): Promise<void>;
}

/** Batches leave at least this often (daprd's batcher waits 5 s; spans should not lag that much). */
const EXPORT_DELAY_MS = 1000;
const DEFAULT_OTEL_TIMEOUT_MS = 10_000;

/** The provider for a Configuration's tracing section; undefined when tracing is off. */
export function buildTracing(config: TracingConfig | undefined, appId: string, log: Logger): Tracing | undefined {
  if (!config) return undefined;
  const rate = samplingRate(config.samplingRate);
  if (rate <= 0) return undefined;
  const exporters = buildExporters(config, appId, log);
  if (exporters.length === 0) log.warn('tracing is configured without an exporter (stdout, zipkin or otel): spans are sampled and propagated but not exported');
  const spanProcessors: SpanProcessor[] = exporters.map((e) => new BatchSpanProcessor(e, { scheduledDelayMillis: EXPORT_DELAY_MS }));
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: appId }),
    sampler: new DaprSampler(rate),
    spanProcessors,
  });
  return {
    tracer: provider.getTracer('dapr'),
    shutdown: () => provider.shutdown().catch((e: unknown) => log.warn(`flushing spans on shutdown failed: ${(e as Error).message}`)),
  };
}

export function buildExporters(config: TracingConfig, appId: string, log: Logger): SpanExporter[] {
  const out: SpanExporter[] = [];
  if (config.stdout) out.push(new StdoutSpanExporter(log));
  if (config.zipkin?.endpointAddress) out.push(new ZipkinExporter({ url: config.zipkin.endpointAddress, serviceName: appId }));
  const otel = config.otel;
  if (otel?.endpointAddress && otel.protocol) {
    const secure = otel.isSecure ?? true; // daprd: isSecure defaults to true
    const headers = parseHeaders(otel.headers);
    const timeoutMillis = otel.timeout || DEFAULT_OTEL_TIMEOUT_MS;
    switch (otel.protocol.toLowerCase()) {
      case 'http':
        out.push(new OtlpHttpExporter({ url: otlpHttpUrl(otel.endpointAddress, secure), headers, timeoutMillis }));
        break;
      case 'grpc': {
        const metadata = new grpc.Metadata();
        for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
        const url = hasScheme(otel.endpointAddress) ? otel.endpointAddress : `${secure ? 'https' : 'http'}://${otel.endpointAddress}`;
        out.push(new OtlpGrpcExporter({ url, metadata, timeoutMillis, credentials: secure ? grpc.credentials.createSsl() : grpc.credentials.createInsecure() }));
        break;
      }
      default:
        throw new Error(`invalid protocol "${otel.protocol}" in spec.tracing.otel: use grpc or http`);
    }
  }
  return out;
}

const hasScheme = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);

/** daprd gives the collector's host:port; OTLP/HTTP traces go to /v1/traces there unless a path is given. */
export function otlpHttpUrl(endpoint: string, secure: boolean): string {
  const url = new URL(hasScheme(endpoint) ? endpoint : `${secure ? 'https' : 'http'}://${endpoint}`);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/traces';
  return url.toString();
}

/** "k1=v1,k2=v2" (daprd's OtelSpec.Headers) as a record; pairs without '=' are skipped. */
export function parseHeaders(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (s ?? '').split(',')) {
    const i = pair.indexOf('=');
    if (i <= 0) continue;
    out[pair.slice(0, i).trim()] = pair.slice(i + 1).trim();
  }
  return out;
}
