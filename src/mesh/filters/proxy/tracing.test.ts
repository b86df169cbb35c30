import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { AlwaysOffSampler, BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import { grpcExchange, proxyExchange } from '../../../../test/proxy-exchange';
import { fromGrpcTraceBin, parseTraceContext, setTracer, toGrpcTraceBin } from '../../../core/trace';
import { filterRegistry } from '../../builtin';
import { FilterChain } from '../../chain';
import type { Exchange } from '../../filter';
import { PROXY_TRACING_TYPE } from './tracing';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const PARENT_SPAN = 'b7ad6b7169203331';
const PARENT = `00-${TRACE}-${PARENT_SPAN}-01`;

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const log = pino({ level: 'silent' });
const create = () => filterRegistry.create(PROXY_TRACING_TYPE, {}, { appId: 'app', log });

beforeEach(() => {
  exporter.reset();
  setTracer(provider.getTracer('test'));
});
afterAll(() => setTracer(undefined));

async function proxied(ex: Exchange, outcome: Partial<Exchange>, proxy: Partial<NonNullable<Exchange['proxy']>> = {}) {
  const chain = new FilterChain([await create()]);
  expect(await chain.request(ex)).toBeUndefined();
  const sentUpstream = { ...ex.headers };
  Object.assign(ex, outcome);
  Object.assign(ex.proxy!, proxy);
  chain.response(ex);
  return sentUpstream;
}

describe('proxy.tracing', () => {
  it("a SERVER span per request, child of the caller's traceparent; the upstream gets the span as its parent", async () => {
    const ex = proxyExchange({ verb: 'PUT', path: '/orders/7', headers: { traceparent: PARENT, tracestate: 'v=1', 'x-request-id': 'rid', 'user-agent': 'ua' } }, { route: 'orders', cluster: 'shop' });
    const upstream = await proxied(ex, { status: 201, requestBytes: 3, responseBytes: 4 }, { upstream: '127.0.0.1:9001', upstreamStatus: 201, retries: 1 });
    const [span] = exporter.getFinishedSpans();
    expect(span).toMatchObject({ name: 'PUT orders', kind: SpanKind.SERVER });
    expect(span!.spanContext().traceId).toBe(TRACE);
    expect(span!.parentSpanContext?.spanId).toBe(PARENT_SPAN);
    expect(upstream.traceparent).toBe(`00-${TRACE}-${span!.spanContext().spanId}-01`);
    expect(upstream.tracestate).toBe('v=1');
    expect(span!.attributes).toMatchObject({
      component: 'proxy',
      'http.method': 'PUT',
      'http.url': '/orders/7',
      route_name: 'orders',
      upstream_cluster: 'shop',
      upstream_address: '127.0.0.1:9001',
      upstream_status: 201,
      'http.status_code': 201,
      retries: 1,
      request_size: 3,
      response_size: 4,
      'guid:x-request-id': 'rid',
      user_agent: 'ua',
      listener: 'l1',
    });
    expect(span!.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('starts a trace when the caller sent none; a 5xx ends the span in error, a local 429 does not', async () => {
    const ex = proxyExchange();
    const upstream = await proxied(ex, { status: 503, errorCode: 'NO_HEALTHY_UPSTREAM' });
    await proxied(proxyExchange(), { status: 429, errorCode: 'RATE_LIMITED' });
    const [failed, limited] = exporter.getFinishedSpans();
    expect(failed!.parentSpanContext).toBeUndefined();
    expect(parseTraceContext(upstream.traceparent as string)?.spanId).toBe(failed!.spanContext().spanId);
    expect(upstream.tracestate).toBeUndefined();
    expect(failed!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'Code(503): Service Unavailable' });
    expect(failed!.attributes.response_flags).toBe('NO_HEALTHY_UPSTREAM');
    expect(limited!.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('gRPC: named by the full method, continues grpc-trace-bin and rewrites it for the upstream', async () => {
    const parent = parseTraceContext(PARENT)!;
    const ex = grpcExchange('/pkg.Svc/Get', { headers: { 'grpc-trace-bin': toGrpcTraceBin(parent).toString('base64') } });
    const upstream = await proxied(ex, { status: 5, message: 'not found' });
    const [span] = exporter.getFinishedSpans();
    expect(span!.name).toBe('/pkg.Svc/Get');
    expect(span!.parentSpanContext?.spanId).toBe(PARENT_SPAN);
    expect(fromGrpcTraceBin(Buffer.from(upstream['grpc-trace-bin'] as string, 'base64'))?.spanId).toBe(span!.spanContext().spanId);
    expect(upstream.traceparent).toBe(`00-${TRACE}-${span!.spanContext().spanId}-01`);
    expect(span!.attributes['grpc.status_code']).toBe(5);
    expect(span!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'not found' });
  });

  it('an unsampled request still gets a new parent id upstream, keeping the trace', async () => {
    setTracer(new BasicTracerProvider({ sampler: new AlwaysOffSampler() }).getTracer('off'));
    const upstream = await proxied(proxyExchange({ headers: { traceparent: PARENT.replace(/01$/, '00') } }), { status: 200 });
    const sc = parseTraceContext(upstream.traceparent as string)!;
    expect(sc.traceId).toBe(TRACE);
    expect(sc.spanId).not.toBe(PARENT_SPAN);
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });

  it('with tracing off applies to nothing', async () => {
    setTracer(undefined);
    expect(new FilterChain([await create()]).isEmpty('proxy')).toBe(true);
  });

  it('takes no settings', async () => {
    await expect(filterRegistry.create(PROXY_TRACING_TYPE, { sampling: 1 }, { appId: 'app', log })).rejects.toThrow(/^proxy\.tracing config: Unrecognized key: "sampling"/);
  });
});
