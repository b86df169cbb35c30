import pino from 'pino';
import { Registry } from 'prom-client';
import { grpcExchange, proxyExchange } from '../../../../test/proxy-exchange';
import { filterRegistry } from '../../builtin';
import { FilterChain } from '../../chain';
import type { Exchange, Filter } from '../../filter';
import { PROXY_METRICS_TYPE } from './metrics';

const log = pino({ level: 'silent' });

/** The sample lines of one family in the text exposition. */
const samples = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));

async function completed(f: Filter, ex: Exchange, outcome: Partial<Exchange>, proxy: Partial<NonNullable<Exchange['proxy']>> = {}) {
  const chain = new FilterChain([f]);
  await chain.request(ex);
  Object.assign(ex, outcome);
  Object.assign(ex.proxy!, proxy);
  chain.response(ex);
}

describe('proxy.metrics', () => {
  it('counts requests, latency, bytes, upstream statuses, retries and local replies by listener, route and cluster', async () => {
    const registry = new Registry();
    const f = await filterRegistry.create(PROXY_METRICS_TYPE, {}, { appId: 'app', log, metrics: registry });
    await completed(f, proxyExchange(), { status: 200, requestBytes: 10, responseBytes: 300 }, { upstream: '127.0.0.1:9001', upstreamStatus: 200 });
    await completed(f, proxyExchange(), { status: 200, requestBytes: 5, responseBytes: 100 }, { upstream: '127.0.0.1:9002', upstreamStatus: 200, retries: 2 });
    await completed(f, proxyExchange(), { status: 429, errorCode: 'RATE_LIMITED', responseBytes: 18 });
    await completed(f, proxyExchange({}, { route: '', cluster: undefined }), { status: 404, errorCode: 'NO_ROUTE' });
    await completed(f, grpcExchange('/pkg.Svc/M', {}, { listener: 'grpc', route: 'g', cluster: 'c2' }), { status: 0 }, { upstream: '127.0.0.1:9100', upstreamStatus: 0 });

    const text = await registry.metrics();
    expect(samples(text, 'layotto_proxy_requests_total').sort()).toEqual(
      [
        'layotto_proxy_requests_total{listener="l1",route="r1",cluster="c1",status="200"} 2',
        'layotto_proxy_requests_total{listener="l1",route="r1",cluster="c1",status="429"} 1',
        'layotto_proxy_requests_total{listener="l1",route="",cluster="",status="404"} 1',
        'layotto_proxy_requests_total{listener="grpc",route="g",cluster="c2",status="0"} 1',
      ].sort(),
    );
    expect(text).toContain('layotto_proxy_request_duration_ms_count{listener="l1",route="r1",cluster="c1"} 3');
    expect(text).toContain('layotto_proxy_request_duration_ms_bucket{le="100000",listener="l1",route="r1",cluster="c1"} 3');
    expect(text).toContain('layotto_proxy_request_bytes_total{listener="l1",route="r1",cluster="c1"} 15');
    expect(text).toContain('layotto_proxy_response_bytes_total{listener="l1",route="r1",cluster="c1"} 418');
    expect(samples(text, 'layotto_proxy_upstream_requests_total').sort()).toEqual(
      [
        'layotto_proxy_upstream_requests_total{cluster="c1",upstream="127.0.0.1:9001",status="200"} 1',
        'layotto_proxy_upstream_requests_total{cluster="c1",upstream="127.0.0.1:9002",status="200"} 1',
        'layotto_proxy_upstream_requests_total{cluster="c2",upstream="127.0.0.1:9100",status="0"} 1',
      ].sort(),
    );
    expect(samples(text, 'layotto_proxy_retries_total')).toEqual(['layotto_proxy_retries_total{cluster="c1"} 2']);
    expect(samples(text, 'layotto_proxy_local_replies_total').sort()).toEqual(
      ['layotto_proxy_local_replies_total{listener="l1",route="r1",reason="RATE_LIMITED"} 1', 'layotto_proxy_local_replies_total{listener="l1",route="",reason="NO_ROUTE"} 1'].sort(),
    );
  });

  it('counts what a filter before it refused (every filter sees the response)', async () => {
    const registry = new Registry();
    const metrics = await filterRegistry.create(PROXY_METRICS_TYPE, {}, { appId: 'app', log, metrics: registry });
    const limit = await filterRegistry.create('proxy.ratelimit', { rules: [{ rate: 1, per: '1h' }] }, { appId: 'app', log });
    const chain = new FilterChain([limit, metrics]);
    for (let i = 0; i < 5; i++) {
      const ex = proxyExchange();
      const v = await chain.request(ex);
      ex.status = v ? v.http.status : 200;
      chain.response(ex);
    }
    expect(samples(await registry.metrics(), 'layotto_proxy_local_replies_total')).toEqual(['layotto_proxy_local_replies_total{listener="l1",route="r1",reason="RATE_LIMITED"} 4']);
  });

  it("two listeners' filters share the families of one registry", async () => {
    const registry = new Registry();
    const [a, b] = await Promise.all(['l1', 'l2'].map(() => filterRegistry.create(PROXY_METRICS_TYPE, {}, { appId: 'app', log, metrics: registry })));
    await completed(a!, proxyExchange(), { status: 200 });
    await completed(b!, proxyExchange({}, { listener: 'l2' }), { status: 200 });
    expect(samples(await registry.metrics(), 'layotto_proxy_requests_total')).toHaveLength(2);
  });

  it('with metrics off applies to nothing, so the proxy keeps its fast path', async () => {
    const lines: string[] = [];
    const info = pino({ level: 'info' }, { write: (l: string) => lines.push(l) });
    const f = await filterRegistry.create(PROXY_METRICS_TYPE, {}, { appId: 'app', log: info });
    expect(new FilterChain([f]).isEmpty('proxy')).toBe(true);
    expect(lines.join('')).toContain('proxy.metrics: metrics are off');
  });

  it('takes no settings', async () => {
    await expect(filterRegistry.create(PROXY_METRICS_TYPE, { buckets: [1] }, { appId: 'app', log, metrics: new Registry() })).rejects.toThrow(/^proxy\.metrics config: Unrecognized key: "buckets"/);
  });
});
