import { status } from '@grpc/grpc-js';
import { FilterChain } from '../chain';
import { exchange as baseExchange } from '../../../test/exchange';
import type { Exchange } from '../filter';
import { concurrencyFilter } from './concurrency';

const exchange = (over: Partial<Exchange> = {}): Exchange => baseExchange({ verb: 'POST', path: '/v1.0/state/s', ...over });

describe('concurrencyFilter', () => {
  it('admits max calls at once, refuses the next, and admits again once one completes', async () => {
    const f = concurrencyFilter(2);
    const chain = new FilterChain([f]);
    const [a, b, c] = [exchange(), exchange({ api: 'dapr-grpc', protocol: 'grpc' }), exchange()];
    expect(await chain.request(a)).toBeUndefined();
    expect(await chain.request(b)).toBeUndefined();
    const refused = await chain.request(c);
    expect(refused?.http.status).toBe(503);
    expect(JSON.parse(refused!.http.body)).toEqual({ errorCode: 'ERR_TOO_MANY_REQUESTS', message: 'too many requests in progress: the limit is 2 (--max-concurrent-requests)' });
    expect(refused?.http.headers).toEqual({ 'retry-after': '1' });
    expect(refused?.grpc.code).toBe(status.UNAVAILABLE);
    chain.response(c); // the refused one held no slot
    expect(f.inFlight).toBe(2);
    chain.response(a);
    chain.response(a); // completing twice frees one slot only
    expect(f.inFlight).toBe(1);
    expect(await chain.request(exchange())).toBeUndefined();
    expect(f.inFlight).toBe(2);
  });

  it('keeps the HTTP health endpoints out of the count', async () => {
    const f = concurrencyFilter(1);
    expect(await f.onRequest!(exchange())).toBeUndefined();
    expect(await f.onRequest!(exchange({ verb: 'GET', path: '/v1.0/healthz' }))).toBeUndefined();
    expect((await f.onRequest!(exchange()))?.http.status).toBe(503);
  });
});
