import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { grpcExchange, proxyExchange } from '../../../../test/proxy-exchange';
import { createLogger } from '../../../observability/logger';
import { filterRegistry } from '../../builtin';
import { FilterChain } from '../../chain';
import type { Exchange, Filter } from '../../filter';
import { ACCESS_LOG_SCOPE, PROXY_ACCESSLOG_TYPE } from './accesslog';

function capture(level: 'info' | 'warn' = 'warn') {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, log: createLogger({ level, json: true, appId: 'app', version: 'test', destination }) };
}

async function run(f: Filter, ex: Exchange, outcome: Partial<Exchange>, proxy: Partial<NonNullable<Exchange['proxy']>> = {}) {
  const chain = new FilterChain([f]);
  const v = await chain.request(ex);
  Object.assign(ex, outcome);
  Object.assign(ex.proxy!, proxy);
  chain.response(ex);
  return v;
}

const tmpFile = () => join(mkdtempSync(join(tmpdir(), 'proxy-accesslog-')), 'access.log');

describe('proxy.accesslog', () => {
  it('logs one line per request with the Envoy fields on scope layotto.proxy.access, even under --log-level warn', async () => {
    const { lines, log } = capture('warn');
    const f = await filterRegistry.create(PROXY_ACCESSLOG_TYPE, {}, { appId: 'app', log });
    const ex = proxyExchange({ verb: 'POST', path: '/orders', headers: { 'x-request-id': 'rid-1', 'user-agent': 'curl/8' }, remoteAddress: '10.0.0.7' });
    await run(f, ex, { status: 201, requestBytes: 12, responseBytes: 34 }, { upstream: '127.0.0.1:9001', upstreamStatus: 201, retries: 1 });
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line).toMatchObject({
      level: 'info',
      scope: ACCESS_LOG_SCOPE,
      msg: 'proxy access',
      method: 'POST',
      path: '/orders',
      protocol: 'HTTP',
      response_code: 201,
      response_flags: '',
      upstream_status: 201,
      bytes_received: 12,
      bytes_sent: 34,
      upstream_host: '127.0.0.1:9001',
      upstream_cluster: 'c1',
      route_name: 'r1',
      listener: 'l1',
      authority: 'svc.local',
      x_request_id: 'rid-1',
      user_agent: 'curl/8',
      downstream_remote_address: '10.0.0.7',
    });
    expect(typeof line.duration).toBe('number');
    expect(Date.parse(line.start_time as string)).toBeLessThanOrEqual(Date.now());
    expect(Date.now() - Date.parse(line.start_time as string)).toBeLessThan(60_000);
  });

  it("flags the proxy's own answers as Envoy does and names the reason", async () => {
    const { lines, log } = capture();
    const chain = [await filterRegistry.create(PROXY_ACCESSLOG_TYPE, {}, { appId: 'app', log }), await filterRegistry.create('proxy.faultinject', { delay: { percentage: 100, fixedDelay: 1 }, abort: { percentage: 100, grpcStatus: 14 } }, { appId: 'app', log })];
    const c = new FilterChain(chain);
    const ex = grpcExchange('/pkg.Svc/M');
    const v = await c.request(ex);
    ex.status = v!.grpc.code;
    c.response(ex);
    await run(chain[0]!, proxyExchange({}, { route: '', cluster: undefined }), { status: 404, errorCode: 'NO_ROUTE' });
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => [l.protocol, l.response_code, l.response_flags, l.error_code])).toEqual([
      ['gRPC', 14, 'DI,FI', 'FAULT_ABORT'],
      ['HTTP', 404, 'NR', 'NO_ROUTE'],
    ]);
  });

  it("appends Envoy's text line to a file; close() flushes it", async () => {
    const path = tmpFile();
    const { log } = capture();
    for (const round of [1, 2]) {
      const f = await filterRegistry.create(PROXY_ACCESSLOG_TYPE, { path }, { appId: 'app', log });
      await run(f, proxyExchange({ headers: { 'user-agent': 'ua "quoted"', 'x-request-id': `r${round}` } }), { status: 200, requestBytes: 1, responseBytes: 2 }, { upstream: '127.0.0.1:9001', upstreamStatus: 200 });
      await run(f, proxyExchange({}, { route: 'r2', cluster: 'c9' }), { status: 429, errorCode: 'RATE_LIMITED' });
      await f.close!();
    }
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[4]).toBe('');
    expect(lines[0]).toMatch(/^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] "GET \/items\/1 HTTP" 200 - 1 2 \d+ 200 "::ffff:127\.0\.0\.1" "ua \\"quoted\\"" "r1" "svc\.local" "127\.0\.0\.1:9001" r1 c1 l1$/);
    expect(lines[1]).toMatch(/\] "GET \/items\/1 HTTP" 429 RL 0 0 \d+ - "::ffff:127\.0\.0\.1" "test-agent" "-" "svc\.local" "-" r2 c9 l1$/);
    expect(lines[2]).toContain('"r2"');
  });

  it('writes JSON lines with format json', async () => {
    const path = tmpFile();
    const f = await filterRegistry.create(PROXY_ACCESSLOG_TYPE, { path, format: 'json' }, { appId: 'app', log: capture().log });
    for (let i = 0; i < 100; i++) await run(f, proxyExchange({ path: `/p/${i}` }), { status: 200 });
    await f.close!();
    const records = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records).toHaveLength(100);
    expect(records[99]).toMatchObject({ path: '/p/99', response_code: 200, route_name: 'r1', upstream_cluster: 'c1' });
  });

  it('a file that cannot be opened fails at creation; a bad format is refused', async () => {
    const { log } = capture();
    await expect(filterRegistry.create(PROXY_ACCESSLOG_TYPE, { path: join(tmpFile(), 'no', 'such', 'dir.log') }, { appId: 'app', log })).rejects.toThrow(/^proxy\.accesslog: cannot open .*ENOENT/);
    await expect(filterRegistry.create(PROXY_ACCESSLOG_TYPE, { path: tmpFile(), format: 'xml' }, { appId: 'app', log })).rejects.toThrow(/^proxy\.accesslog config\.format: /);
  });
});
