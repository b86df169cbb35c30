import { PassThrough } from 'node:stream';
import { hostname } from 'node:os';
import { createLogger, ROOT_SCOPE, scoped, setLogLevel } from './logger';

function capture(json = true, appId = 'myapp') {
  const lines: string[] = [];
  const destination = new PassThrough();
  destination.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  const log = createLogger({ level: 'info', json, appId, version: '1.2.3', destination });
  const flush = () => new Promise((r) => setImmediate(r));
  return { log, lines, flush, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('logger', () => {
  it("writes daprd's JSON fields, each key once, scope of the child", async () => {
    const { log, lines, flush } = capture();
    scoped(log, 'dapr.runtime.http').info('hello');
    await flush();
    expect(lines).toHaveLength(1);
    const keys = [...lines[0]!.matchAll(/"(\w+)":/g)].map((m) => m[1]);
    expect(new Set(keys).size).toBe(keys.length);
    const rec = JSON.parse(lines[0]!);
    expect(rec).toEqual({ time: expect.any(String), level: 'info', type: 'log', scope: 'dapr.runtime.http', msg: 'hello', instance: hostname(), ver: '1.2.3', app_id: 'myapp' });
    expect(new Date(rec.time).toISOString()).toBe(rec.time);
  });

  it('leaves app_id out when no app id is set, as dapr/kit', async () => {
    const { log, records, flush } = capture(true, '');
    log.warn('x');
    await flush();
    expect(records()[0]).not.toHaveProperty('app_id');
    expect(records()[0]).toMatchObject({ scope: ROOT_SCOPE, level: 'warn' });
  });

  it('writes logrus-style text without --log-as-json', async () => {
    const { log, lines, flush } = capture(false);
    log.info('two words');
    await flush();
    expect(lines[0]).toMatch(/^time=\S+ level=info msg="two words" app_id=myapp instance=\S+ scope=dapr\.runtime type=log ver=1\.2\.3$/);
  });

  it('changes one scope and the scopes under it at run time, and scopes created later', async () => {
    const { log, records, flush } = capture();
    const http = scoped(log, 'dapr.runtime.http');
    const httpX = scoped(log, 'dapr.runtime.http.x');
    const other = scoped(log, 'dapr.runtime.pubsub');
    expect(setLogLevel(log, 'dapr.runtime.http', 'debug')).toBe(2);
    for (const l of [log, http, httpX, other, scoped(log, 'dapr.runtime.http.later')]) l.debug('d');
    await flush();
    expect(records().map((r) => r.scope)).toEqual(['dapr.runtime.http', 'dapr.runtime.http.x', 'dapr.runtime.http.later']);
  });

  it('"" and the root scope set every logger, dropping per-scope levels', async () => {
    const { log, records, flush } = capture();
    const http = scoped(log, 'dapr.runtime.http');
    setLogLevel(log, 'dapr.runtime.http', 'debug');
    setLogLevel(log, '', 'error');
    http.warn('no');
    log.warn('no');
    scoped(log, 'dapr.runtime.http').warn('no');
    setLogLevel(log, ROOT_SCOPE, 'debug');
    http.debug('yes');
    log.debug('yes');
    scoped(log, 'dapr.apphealth').debug('yes');
    await flush();
    expect(records().map((r) => r.msg)).toEqual(['yes', 'yes', 'yes']);
  });
});
