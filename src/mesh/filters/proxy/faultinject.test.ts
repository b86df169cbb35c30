import pino from 'pino';
import { grpcExchange, proxyExchange } from '../../../../test/proxy-exchange';
import { filterRegistry } from '../../builtin';
import type { Exchange, Filter, Verdict } from '../../filter';
import { DELAYED, FAULT_ABORT, FAULT_ABORT_BODY, PROXY_FAULTINJECT_TYPE } from './faultinject';

const ctx = { appId: 'app', log: pino({ level: 'silent' }) };
const create = (settings: Record<string, unknown>) => filterRegistry.create(PROXY_FAULTINJECT_TYPE, settings, ctx);

/** Offers n exchanges; counts the delayed (onRequest went async) and the aborted ones. */
async function tally(f: Filter, n: number, ex: () => Exchange = () => proxyExchange()) {
  let delayed = 0;
  let aborted = 0;
  const verdicts: Promise<Verdict>[] = [];
  for (let i = 0; i < n; i++) {
    const e = ex();
    const v = f.onRequest!(e);
    if (v instanceof Promise) delayed++;
    verdicts.push(Promise.resolve(v).then((r) => (r && aborted++, r)));
  }
  await Promise.all(verdicts);
  return { delayed, aborted };
}

/** n trials at p%: within 4.5 standard deviations of the mean (a false failure about once in 150,000 runs). */
const near = (count: number, n: number, pct: number) => {
  const p = pct / 100;
  const sd = Math.sqrt(n * p * (1 - p));
  expect(Math.abs(count - n * p)).toBeLessThanOrEqual(4.5 * sd + 1);
};

describe('proxy.faultinject', () => {
  it('aborts the configured percentage (fractions allowed) with a local reply and errorCode FAULT_ABORT', async () => {
    const f = await create({ abort: { percentage: 12.5, httpStatus: 503 } });
    const { aborted, delayed } = await tally(f, 4000);
    near(aborted, 4000, 12.5);
    expect(delayed).toBe(0);
    const a = await create({ abort: { percentage: 100, httpStatus: 418 } });
    const ex = proxyExchange();
    expect(a.onRequest!(ex)).toEqual({ http: { status: 418, body: FAULT_ABORT_BODY, contentType: 'text/plain; charset=utf-8' }, grpc: { code: 2, details: FAULT_ABORT_BODY } });
    expect(ex.errorCode).toBe(FAULT_ABORT);
  });

  it('gRPC gets grpcStatus, or the code for httpStatus; HTTP the status for grpcStatus; 503/UNAVAILABLE by default', async () => {
    expect((await create({ abort: { percentage: 100, grpcStatus: 8 } })).onRequest!(grpcExchange('/a.B/C'))).toMatchObject({ grpc: { code: 8 }, http: { status: 429 } });
    expect((await create({ abort: { percentage: 100, httpStatus: 504 } })).onRequest!(grpcExchange('/a.B/C'))).toMatchObject({ grpc: { code: 4 }, http: { status: 504 } });
    expect((await create({ abort: { percentage: 100, httpStatus: 500, grpcStatus: 13, body: 'boom' } })).onRequest!(proxyExchange())).toMatchObject({ grpc: { code: 13, details: 'boom' }, http: { status: 500, body: 'boom' } });
    expect((await create({ abort: { percentage: 100 } })).onRequest!(proxyExchange())).toMatchObject({ grpc: { code: 14 }, http: { status: 503 } });
  });

  it('delays the configured percentage by fixedDelay, then lets it on', async () => {
    const f = await create({ delay: { percentage: 33.3, fixedDelay: '1ms' } });
    const { delayed, aborted } = await tally(f, 3000);
    near(delayed, 3000, 33.3);
    expect(aborted).toBe(0);
  });

  it('holds a delayed request at least fixedDelay and marks it for the access log', async () => {
    const f = await create({ delay: { percentage: 100, fixedDelay: '150ms' } });
    const ex = proxyExchange();
    const t0 = performance.now();
    expect(await f.onRequest!(ex)).toBeUndefined();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(145);
    expect(ex.attrs.get(PROXY_FAULTINJECT_TYPE)).toBe(DELAYED);
    expect(ex.errorCode).toBeUndefined();
  });

  it('may abort a delayed request too (both faults are drawn independently)', async () => {
    const f = await create({ delay: { percentage: 50, fixedDelay: 0 }, abort: { percentage: 50 } });
    const { delayed, aborted } = await tally(f, 4000);
    near(delayed, 4000, 50);
    near(aborted, 4000, 50);
  });

  it('injects only into requests with the headers and on the routes given', async () => {
    const f = await create({ abort: { percentage: 100 }, headers: [{ name: 'X-Fault', exact: 'yes' }, { name: 'x-canary' }], routes: ['orders'] });
    const ex = (headers: Record<string, string>, route = 'orders') => proxyExchange({ headers }, { route });
    expect(f.onRequest!(ex({ 'x-fault': 'yes', 'x-canary': '' }))).toBeDefined();
    expect(f.onRequest!(ex({ 'x-fault': 'yes', 'x-canary': '1' }, 'users'))).toBeUndefined();
    expect(f.onRequest!(ex({ 'x-fault': 'no', 'x-canary': '1' }))).toBeUndefined();
    expect(f.onRequest!(ex({ 'x-fault': 'yes' }))).toBeUndefined();
  });

  it('holds at most maxActiveDelays requests at once', async () => {
    const f = await create({ delay: { percentage: 100, fixedDelay: '50ms' }, maxActiveDelays: 2 });
    const { delayed } = await tally(f, 5);
    expect(delayed).toBe(2);
  });

  it('percentage 0 never injects', async () => {
    const { delayed, aborted } = await tally(await create({ delay: { percentage: 0, fixedDelay: '1s' }, abort: { percentage: 0 } }), 2000);
    expect([delayed, aborted]).toEqual([0, 0]);
  });

  it.each([
    [{}, /^proxy\.faultinject config: needs delay or abort/],
    [{ abort: { percentage: 101 } }, /config\.abort\.percentage: must be 0-100/],
    [{ abort: { percentage: -1 } }, /config\.abort\.percentage: must be 0-100/],
    [{ abort: { percentage: 5, grpcStatus: 0 } }, /config\.abort\.grpcStatus: must be a gRPC status code 1-16/],
    [{ abort: { percentage: 5, httpStatus: 99 } }, /config\.abort\.httpStatus/],
    [{ delay: { percentage: 5 } }, /config\.delay\.fixedDelay/],
    [{ delay: { percentage: 5, fixedDelay: 'later' } }, /config\.delay\.fixedDelay: invalid duration "later"/],
    [{ abort: { percentage: 5 }, headers: [{ exact: 'x' }] }, /config\.headers\.0\.name/],
    [{ abort: { percentage: 5 }, route: ['x'] }, /Unrecognized key: "route"/],
  ])('refuses a bad config with the field: %j', async (bad, message) => {
    await expect(create(bad)).rejects.toThrow(message);
  });
});
