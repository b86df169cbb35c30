import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { currentTrace, setTracer, toGrpcTraceBin } from '../../core/trace';
import { FilterChain } from '../chain';
import type { Exchange } from '../filter';
import { tracingFilter } from './tracing';
import { exchange as baseExchange } from '../../../test/exchange';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const PARENT = `00-${TRACE}-b7ad6b7169203331-01`;

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

beforeEach(() => {
  exporter.reset();
  setTracer(provider.getTracer('test'));
});
afterAll(() => setTracer(undefined));

const exchange = (over: Partial<Exchange>): Exchange => baseExchange({ route: '/v1.0/state/:storeName/:key', path: '/v1.0/state/store1/k1', ...over });

async function roundTrip(ex: Exchange, status: number, inHandler?: () => Promise<void>): Promise<void> {
  const chain = new FilterChain([tracingFilter()]);
  expect(await chain.request(ex)).toBeUndefined();
  if (inHandler) await (ex.run ? ex.run(inHandler) : inHandler());
  ex.status = status;
  chain.response(ex);
}

describe('tracing filter', () => {
  it('an HTTP API call: a CLIENT span named by the path, child of the caller traceparent, with daprd attributes', async () => {
    await roundTrip(exchange({ headers: { traceparent: PARENT, tracestate: 'v=1', 'dapr-user': 'x', 'dapr-api-token': 'secret' } }), 204);
    const [span] = exporter.getFinishedSpans();
    expect(span).toMatchObject({ name: '/v1.0/state/store1/k1', kind: SpanKind.CLIENT });
    expect(span!.spanContext().traceId).toBe(TRACE);
    expect(span!.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(span!.spanContext().traceState?.get('v')).toBe('1');
    expect(span!.attributes).toMatchObject({
      'db.system': 'state',
      'db.name': 'store1',
      'db.statement': 'GET /v1.0/state/store1/k1',
      'dapr.protocol': 'http',
      'dapr.api': 'GET /v1.0/state/store1/k1',
      'dapr.status_code': '204',
      'dapr-user': 'x',
    });
    expect(span!.attributes['dapr-api-token']).toBeUndefined();
    expect(span!.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('an error status marks the span as daprd words it; no traceparent starts a new trace', async () => {
    await roundTrip(exchange({}), 404);
    const [span] = exporter.getFinishedSpans();
    expect(span!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'Code(404): Not Found' });
    expect(span!.parentSpanContext).toBeUndefined();
  });

  it('the handler runs with the span current, across awaits', async () => {
    let seen: string | undefined;
    await roundTrip(exchange({ headers: { traceparent: PARENT } }), 200, async () => {
      await new Promise((r) => setTimeout(r, 1));
      seen = currentTrace()?.traceparent;
    });
    const [span] = exporter.getFinishedSpans();
    expect(seen).toBe(`00-${TRACE}-${span!.spanContext().spanId}-01`);
    expect(currentTrace()).toBeUndefined();
  });

  it('gRPC: grpc-trace-bin wins over traceparent; internal calls get SERVER spans; a non-OK code is an error', async () => {
    const bin = toGrpcTraceBin({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 }).toString('base64');
    await roundTrip(exchange({ api: 'internal', protocol: 'grpc', verb: 'POST', route: '/dapr.proto.internals.v1.ServiceInvocation/CallLocalStream', path: '/dapr.proto.internals.v1.ServiceInvocation/CallLocalStream', headers: { 'grpc-trace-bin': bin, traceparent: PARENT } }), 0);
    await roundTrip(exchange({ api: 'dapr-grpc', protocol: 'grpc', route: '/dapr.proto.runtime.v1.Dapr/GetState', path: '/dapr.proto.runtime.v1.Dapr/GetState', headers: { traceparent: PARENT }, message: 'nope' }), 5);
    const [internal, api] = exporter.getFinishedSpans();
    expect(internal).toMatchObject({ kind: SpanKind.SERVER, attributes: { 'rpc.service': 'ServiceInvocation', 'dapr.protocol': 'grpc' } });
    expect(internal!.spanContext().traceId).toBe('a'.repeat(32));
    expect(internal!.parentSpanContext?.spanId).toBe('b'.repeat(16));
    expect(api).toMatchObject({ name: '/dapr.proto.runtime.v1.Dapr/GetState', kind: SpanKind.CLIENT, attributes: { 'rpc.service': 'Dapr', 'dapr.api': '/dapr.proto.runtime.v1.Dapr/GetState' } });
    expect(api!.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('health probes and tracing off: no span, no context', async () => {
    const health = exchange({ route: '/v1.0/healthz', path: '/v1.0/healthz' });
    await roundTrip(health, 204);
    setTracer(undefined);
    const off = exchange({});
    await roundTrip(off, 200);
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    expect(health.run).toBeUndefined();
    expect(off.run).toBeUndefined();
  });
});
