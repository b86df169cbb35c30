// Property-based fuzzing of every Dapr HTTP route on the built sidecar: thousands of generated bad
// requests (broken and wrongly-typed JSON, huge and empty fields, bytes that are not UTF-8, percent
// and traversal tricks in path parameters, odd verbs, content types, header values and queries).
// Each answer must be daprd's: no 5xx for a client error unless daprd answers that case with its
// own code (allowed.ts), an error envelope {errorCode, message} with a known code, never the
// generic "ERROR" (an unexpected throw) nor a stack trace; after each route's batch the sidecar is
// still alive and healthy, and nothing outside the file roots was touched.
// FUZZ_RUNS=<factor> scales the run counts (the default keeps the file near a minute on 2 busy cores).
import fc from 'fast-check';
import { ALLOWED_HTTP_5XX, KNOWN_CODES, SHAPED_5XX } from './allowed';
import { deepJson } from './arbitraries';
import { type FuzzEnv, NAMES, runs, STACK_TRACE, startFuzzEnv, TOPIC } from './fuzz-env';
import { describe as describeReq, printable, requestArb, type Route, routeTable } from './http-requests';
import { MAX_JSON_DEPTH } from '../../src/core/json-depth';
import { until } from '../../test/wait';
import { type RawRequest, type RawResponse, send } from './raw-http';

jest.setTimeout(10 * 60_000);

/** Routes that would end the process under test; the last case covers them once. */
const SKIPPED = new Set(['Shutdown']);

/** Runs per route; invocation and the fallback get more (most of the surface is behind them). */
const RUNS = (name: string): number => runs(name.startsWith('Invoke') ? 160 : 90);

/** Invocation's fallback (daprd's NotFound/MethodNotAllowed handler): any path, any verb. */
const FALLBACK: Route = { name: 'InvokeFallback', url: '/*', methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'] };

/** Parser-level rejections (node's llhttp, like Go's net/http; 417 for an Expect other than 100-continue) answer without a body. */
const PARSER_STATUSES = new Set([400, 413, 414, 417, 431, 501, 505]);

/** The reason an answer is wrong, or undefined. */
export function violation(route: string, req: RawRequest, res: RawResponse): string | undefined {
  if (res.status === 0) return 'the connection closed without an answer';
  // Any request may end in invocation's fallback (an odd verb or path, dapr-app-id), as in daprd.
  const names = [route, FALLBACK.name];
  const from = (re: RegExp) => names.some((n) => re.test(n));
  const text = res.body.toString('utf8');
  if (STACK_TRACE.test(text)) return 'a stack trace or source path in the answer';
  const fromApp = res.headers['x-fuzz-app'] === '1';
  if (res.status < 400 || fromApp || req.method === 'HEAD') return undefined;
  let body: { errorCode?: unknown; message?: unknown } | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // not JSON: only the HTTP parser answers that way
  }
  if (body === undefined || typeof body !== 'object' || body === null) {
    if (PARSER_STATUSES.has(res.status) && res.body.length <= 64 && res.headers.connection === 'close') return undefined;
    return `error status ${res.status} without a JSON error body`;
  }
  const shaped = SHAPED_5XX.find((s) => from(s.routes) && s.status === res.status && s.body(body));
  if (shaped) return undefined;
  if (typeof body.errorCode !== 'string' || typeof body.message !== 'string') return 'error body without errorCode and message';
  if (body.errorCode === 'ERROR') return 'the generic "ERROR" (an unexpected exception reached the error handler)';
  if (!KNOWN_CODES.has(body.errorCode)) return `unknown errorCode ${body.errorCode}`;
  if (res.status >= 500 && !ALLOWED_HTTP_5XX.some((a) => from(a.routes) && a.errorCode === body.errorCode && a.status === res.status && (!a.message || a.message.test(String(body.message))))) {
    return `${res.status} ${body.errorCode} for a client's request`;
  }
  return undefined;
}

describe('Dapr HTTP API under generated bad input', () => {
  let env: FuzzEnv;
  const seen = new Map<string, Map<string, number>>();

  beforeAll(async () => {
    env = await startFuzzEnv();
    // The app marks its answers, so a pass-through error is told apart from the sidecar's.
    const script = env.app.script;
    env.app.script = (s, res) => {
      res.setHeader('x-fuzz-app', '1');
      script(s, res);
    };
  });
  afterAll(async () => {
    await env?.stop();
    if (process.env.FUZZ_VERBOSE) for (const [r, m] of seen) process.stdout.write(`${r}: ${[...m].map(([k, n]) => `${k}×${n}`).join(' ')}\n`);
  });

  const table = routeTable();
  const routes = [...table.filter((r) => !SKIPPED.has(r.name)), FALLBACK];

  it('enumerates the whole route table', () => {
    expect(table.length).toBeGreaterThan(20);
    expect(table.map((r) => r.name)).toEqual(expect.arrayContaining(['GetState', 'SaveState', 'PublishEvent', 'InvokeService', 'InvokeBinding', 'TryLockAlpha1', 'GetSecret', 'GetConfiguration', 'PutMetadata']));
  });

  it.each(routes.map((r) => [`${r.methods.join(',')} ${r.url}`, r] as const))('%s', async (_label, route) => {
    const counts = new Map<string, number>();
    seen.set(`${route.name} ${route.url}`, counts);
    // A loopback URL target (the app itself) reaches the external-invocation path.
    const arb = requestArb(route, [encodeURIComponent(env.app.url)]).map((r) => (route === FALLBACK && r.headers.length < 2 ? printable({ ...r, headers: [...r.headers, ['dapr-app-id', 'fuzz-app']] }) : r));
    await fc.assert(
      fc.asyncProperty(arb, async (req) => {
        let sent = req;
        let res = await send(env.sc.httpPort, sent);
        // A HEAD answer has no body to show its code; only invocation serves HEAD, so the same
        // request as OPTIONS (also invocation's) shows which error it was.
        if (req.method === 'HEAD' && res.status >= 500) res = await send(env.sc.httpPort, (sent = printable({ ...req, method: 'OPTIONS' })));
        const code = `${res.status}${/"errorCode":"([A-Z_]+)"/.exec(res.body.toString('latin1'))?.[1] ?? ''}`;
        counts.set(code, (counts.get(code) ?? 0) + 1);
        const why = violation(route.name, sent, res);
        if (why) throw new Error(`${why}\nrequest: ${describeReq(sent)}\nanswer: ${res.status} ${JSON.stringify(res.headers)} ${JSON.stringify(res.body.toString('utf8').slice(0, 600))}`);
      }),
      { numRuns: RUNS(route.name), seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined, endOnFailure: !!process.env.FUZZ_NO_SHRINK },
    );
    await env.assertHealthy();
  });

  // Bugs the fuzzer found, pinned: bodies nested thousands deep parse fine but overflowed the stack
  // when re-serialized (a 500 "ERROR"); they are refused as Go refuses them ("exceeded max depth").
  const deep = deepJson(5000, 'arr');
  it.each([
    ['SaveState', '/v1.0/state/statestore', `[{"key":"k","value":${deep}}]`, 'application/json'],
    ['ExecuteStateTransaction', '/v1.0/state/statestore/transaction', `{"operations":[{"operation":"upsert","request":{"key":"k","value":${deep}}}]}`, 'application/json'],
    ['InvokeBinding', `/v1.0/bindings/${NAMES.httpBinding}`, `{"operation":"post","data":${deep}}`, 'application/json'],
    ['QueryStateAlpha1', '/v1.0-alpha1/state/statestore/query', `{"filter":{"EQ":{"a":${deep}}}}`, 'application/json'],
    ['BulkPublishEvent', `/v1.0-alpha1/publish/bulk/${NAMES.pubsub}/${TOPIC}`, `[{"entryId":"1","event":${deep},"contentType":"application/json"}]`, 'application/json'],
    ['PublishEvent', `/v1.0/publish/${NAMES.pubsub}/${TOPIC}`, `{"specversion":"1.0","id":"1","source":"s","type":"t","data":${deep}}`, 'application/cloudevents+json'],
    ['PublishEvent', `/v1.0/publish/${NAMES.pubsub}/${TOPIC}`, deep, 'application/json'],
  ])('%s: a body nested 5000 deep is a client error, not an overflow (%s)', async (name, path, body, contentType) => {
    const req = printable({ method: 'POST', path: Buffer.from(path), headers: [['content-type', contentType]], body: Buffer.from(body), framing: 'length' });
    const res = await send(env.sc.httpPort, req);
    expect(violation(name, req, res)).toBeUndefined();
    await env.assertHealthy();
  });

  it('delivers an event whose JSON data nests just under the limit', async () => {
    const data = deepJson(MAX_JSON_DEPTH - 1, 'obj');
    const req = printable({ method: 'POST', path: Buffer.from(`/v1.0/publish/${NAMES.pubsub}/${TOPIC}`), headers: [['content-type', 'application/json']], body: Buffer.from(data), framing: 'length' });
    expect((await send(env.sc.httpPort, req)).status).toBe(204);
    await until(() => env.app.seen.some((s) => s.url === '/events' && s.length > data.length), () => 'the app got no deep event');
    await env.assertHealthy();
  });

  it('answers garbage that is not HTTP at all without dying', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 2048 }), async (bytes) => {
        const res = await send(env.sc.httpPort, Buffer.from(bytes));
        if (res.status !== 0 && res.status !== 400 && res.status < 500) return;
        if (res.status >= 500) throw new Error(`${res.status} for bytes that are not HTTP`);
      }),
      { numRuns: runs(100) },
    );
    await env.assertHealthy();
  });

  it('shuts down cleanly on a POST /v1.0/shutdown with a garbage body (last)', async () => {
    const res = await send(env.sc.httpPort, { method: 'POST', path: Buffer.from('/v1.0/shutdown?x=%ZZ'), headers: [['content-type', 'application/json']], body: Buffer.from('{"a":'), framing: 'length' });
    expect(res.status).toBe(204);
    expect(await env.sc.exited).toBe(0);
  });
});
