import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SamplingDecision, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import type { LiveComponent } from '../../components/store';
import { currentTrace, fromGrpcTraceBin, parseTraceContext, setTracer, startSpan, runInContext, toGrpcTraceBin, withCallbackSpan } from '../../core/trace';
import { traceComponent } from './components';
import { buildExporters, buildTracing, otlpHttpUrl, parseHeaders } from './provider';
import { DaprSampler, samplingRate } from './sampler';

const log = pino({ level: 'silent' });
const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('sampler', () => {
  it('follows a sampled parent whatever the rate, else samples by trace id', () => {
    const s = new DaprSampler(0);
    const sampledParent = trace.setSpanContext(ROOT_CONTEXT, parseTraceContext(TP)!);
    const unsampledParent = trace.setSpanContext(ROOT_CONTEXT, parseTraceContext(TP.replace(/01$/, '00'))!);
    expect(s.shouldSample(sampledParent, 'f'.repeat(32)).decision).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(s.shouldSample(unsampledParent, '0'.repeat(31) + '1').decision).toBe(SamplingDecision.NOT_RECORD);
    expect(new DaprSampler(1).shouldSample(unsampledParent, 'f'.repeat(32)).decision).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  });

  it('reads samplingRate as daprd does', () => {
    expect(samplingRate(undefined)).toBe(1);
    expect(samplingRate('0.25')).toBe(0.25);
    expect(samplingRate('nope')).toBe(1e-4);
  });
});

describe('provider', () => {
  it('no tracing section or samplingRate "0": no provider', () => {
    expect(buildTracing(undefined, 'a', log)).toBeUndefined();
    expect(buildTracing({ samplingRate: '0', zipkin: { endpointAddress: 'http://127.0.0.1:9411/api/v2/spans' } }, 'a', log)).toBeUndefined();
  });

  it('one exporter per target; otel headers and URLs as daprd gives them', async () => {
    const all = buildExporters({ stdout: true, zipkin: { endpointAddress: 'http://127.0.0.1:1/api/v2/spans' }, otel: { protocol: 'http', endpointAddress: '127.0.0.1:4318', isSecure: false, headers: '' } }, 'a', log);
    expect(all.map((e) => e.constructor.name)).toEqual(['StdoutSpanExporter', 'ZipkinExporter', 'OTLPTraceExporter']);
    await Promise.all(all.map((e) => e.shutdown()));
    expect(() => buildExporters({ otel: { protocol: 'udp', endpointAddress: 'x:1', headers: '' } }, 'a', log)).toThrow(/invalid protocol "udp"/);
    expect(otlpHttpUrl('127.0.0.1:4318', false)).toBe('http://127.0.0.1:4318/v1/traces');
    expect(otlpHttpUrl('collector:4318', true)).toBe('https://collector:4318/v1/traces');
    expect(otlpHttpUrl('http://c:1/custom', true)).toBe('http://c:1/custom');
    expect(parseHeaders('a=1, b = x=y,bad')).toEqual({ a: '1', b: 'x=y' });
  });
});

describe('trace context', () => {
  it('grpc-trace-bin round-trips and rejects garbage', () => {
    const sc = parseTraceContext(TP)!;
    const back = fromGrpcTraceBin(toGrpcTraceBin(sc))!;
    expect(back).toMatchObject({ traceId: sc.traceId, spanId: sc.spanId, traceFlags: 1 });
    expect(fromGrpcTraceBin(Buffer.from([1, 2, 3]))).toBeUndefined();
    expect(parseTraceContext('00-0-0-0')).toBeUndefined();
  });
});

describe('component spans', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  beforeEach(() => {
    exporter.reset();
    setTracer(provider.getTracer('test'));
  });
  afterAll(() => setTracer(undefined));

  class Store {
    #n = 0;
    async set(): Promise<void> {
      this.#n++;
    }
    async get(): Promise<string> {
      throw new Error('down');
    }
    count(): number {
      return this.#n;
    }
  }
  const live = (instance: Store) => ({ kind: 'state', name: 'store1', meta: { type: 'state.redis' }, instance, capabilities: [] }) as unknown as LiveComponent<'state'>;

  it('wraps calls in child spans of the current span only; other methods work on the instance', async () => {
    const store = traceComponent(live(new Store())) as unknown as Store;
    await store.set(); // no current span: no span
    const api = startSpan('api', SpanKind.CLIENT, {}, null)!;
    await runInContext(api.context, async () => {
      await store.set();
      await expect(store.get()).rejects.toThrow('down');
    });
    api.span.end();
    expect(store.count()).toBe(2);
    const [set, get, root] = exporter.getFinishedSpans();
    expect(set).toMatchObject({ name: 'state/store1/set', kind: SpanKind.CLIENT, attributes: { 'db.system': 'state', 'db.name': 'store1', 'dapr.component.type': 'state.redis' } });
    expect(set!.parentSpanContext?.spanId).toBe(root!.spanContext().spanId);
    expect(get!.status).toMatchObject({ code: 2, message: 'down' });
  });

  it('a callback span (pub/sub delivery) is a child of the event trace and hands the app its own context', async () => {
    let given: string | undefined;
    await withCallbackSpan('pubsub/orders', {}, { traceparent: TP }, async (t) => {
      given = t.traceparent;
      expect(currentTrace()?.traceparent).toBe(t.traceparent);
    });
    const [span] = exporter.getFinishedSpans();
    expect(span).toMatchObject({ name: 'pubsub/orders', kind: SpanKind.CLIENT });
    expect(span!.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(given).toBe(`00-0af7651916cd43dd8448eb211c80319c-${span!.spanContext().spanId}-01`);
  });
});
