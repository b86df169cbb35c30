// Exchanges as the mesh proxy's listener builds them (routed, before the chain runs), and a pacer
// that offers a filter requests at a steady rate, for the proxy filters' unit tests.
import type { Exchange, Filter } from '../src/mesh/filter';
import { sleep } from './wait';

export function proxyExchange(over: Partial<Exchange> = {}, proxy: Partial<NonNullable<Exchange['proxy']>> = {}): Exchange {
  const route = proxy.route ?? over.route ?? 'r1';
  return {
    api: 'proxy',
    protocol: 'http',
    verb: 'GET',
    route,
    path: '/items/1',
    headers: { host: 'svc.local', 'user-agent': 'test-agent' },
    remoteAddress: '::ffff:127.0.0.1',
    streaming: false,
    startNs: process.hrtime.bigint(),
    attrs: new Map(),
    ...over,
    proxy: { listener: 'l1', host: 'svc.local', route, cluster: 'c1', ...proxy },
  };
}

export const grpcExchange = (method: string, over: Partial<Exchange> = {}, proxy: Partial<NonNullable<Exchange['proxy']>> = {}): Exchange =>
  proxyExchange({ protocol: 'grpc', verb: 'POST', path: method, headers: { 'content-type': 'application/grpc' }, ...over }, proxy);

export interface Offered {
  /** ms since the start when the request was offered. */
  at: number;
  admitted: boolean;
}

/**
 * Offers `rps` requests per second (in total, round-robin over the filters) for `ms`, paced in 5 ms
 * steps against the wall clock, so a late timer is made up for rather than lowering the rate.
 */
export async function offerRate(filters: Filter[], rps: number, ms: number, ex: () => Exchange): Promise<Offered[]> {
  const out: Offered[] = [];
  const pending: Promise<void>[] = [];
  const start = performance.now();
  let sent = 0;
  for (let now = 0; now < ms; now = performance.now() - start) {
    for (const due = Math.floor((now / 1000) * rps); sent < due; sent++) {
      const at = performance.now() - start;
      pending.push(Promise.resolve(filters[sent % filters.length]!.onRequest!(ex())).then((v) => void out.push({ at, admitted: v === undefined })));
    }
    await sleep(5);
  }
  await Promise.all(pending);
  return out;
}

/** Admitted per second within [from, to) ms. */
export const admittedPerSecond = (o: Offered[], from: number, to: number): number => o.filter((x) => x.admitted && x.at >= from && x.at < to).length / ((to - from) / 1000);
