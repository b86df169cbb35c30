// Generated HTTP requests for one Dapr HTTP route: the path with odd parameters (percent tricks,
// traversal, bytes that are not UTF-8, huge), path-level tricks, query tricks, odd verbs, odd
// content types and header values, and a body generated from the route's field shape.
import fc from 'fast-check';
import type { HTTPMethods } from 'fastify';
import type { Core } from '../../src/core';
import { daprHttpEndpoints } from '../../src/api/dapr-http/routes';
import { type BodyOptions, bodyArb, invalidUtf8, KNOWN, oddString, type Shape } from './arbitraries';
import { APP_ID, MAX_BODY, NAMES, NO_URL } from './fuzz-env';
import type { RawRequest } from './raw-http';

export interface Route {
  name: string;
  url: string;
  methods: HTTPMethods[];
}

/**
 * Every route of the table, read from the same function the server registers them with (handlers
 * are built against a core that is never called), so a new route is fuzzed without a change here.
 */
export function routeTable(): Route[] {
  const anything: unknown = new Proxy(function () {}, { get: () => anything, apply: () => anything });
  return daprHttpEndpoints(anything as Core, MAX_BODY).map((e) => ({ name: e.name, url: e.url, methods: e.methods }));
}

const stateItem: Shape = {
  obj: {
    key: 'string',
    value: 'any',
    etag: 'string',
    metadata: { map: 'string' },
    options: { obj: { concurrency: { enum: ['first-write', 'last-write'] }, consistency: { enum: ['eventual', 'strong'] } } },
  },
};

/** What each route's body should look like (daprd's request structs), and where raw bytes go in it. */
const BODIES: Record<string, BodyOptions> = {
  SaveState: { shape: { arr: stateItem }, holes: ['[{"key":"$","value":1}]', '[{"key":"k","value":"$"}]', '[{"key":"k","value":$}]'] },
  GetBulkState: { shape: { obj: { keys: { arr: 'string' }, parallelism: 'int', metadata: { map: 'string' } } }, holes: ['{"keys":["$"]}', '{"keys":$}'] },
  ExecuteStateTransaction: {
    shape: { obj: { operations: { arr: { obj: { operation: { enum: ['upsert', 'delete'] }, request: stateItem } } }, metadata: { map: 'string' } } },
    holes: ['{"operations":[{"operation":"upsert","request":{"key":"$","value":1}}]}', '{"operations":[{"operation":"upsert","request":{"key":"k","value":$}}]}'],
  },
  QueryStateAlpha1: {
    shape: { obj: { filter: { obj: { EQ: { map: 'any' }, IN: { map: { arr: 'any' } }, AND: { arr: 'any' }, OR: { arr: 'any' } } }, sort: { arr: { obj: { key: 'string', order: { enum: ['ASC', 'DESC'] } } } }, page: { obj: { limit: 'int', token: 'string' } } } },
    holes: ['{"filter":{"EQ":{"$":1}}}', '{"filter":$}', '{"page":{"token":"$"}}'],
  },
  PublishEvent: {
    shape: { obj: { id: 'string', source: 'string', type: 'string', specversion: { enum: ['1.0'] }, datacontenttype: 'string', data: 'any', data_base64: 'string', topic: 'string', traceparent: 'string' } },
    holes: ['{"specversion":"1.0","id":"$","data":1}', '$'],
  },
  BulkPublishEvent: {
    shape: { arr: { obj: { entryId: 'string', event: 'any', contentType: { enum: ['application/json', 'text/plain', 'application/cloudevents+json'] }, metadata: { map: 'string' } } } },
    holes: ['[{"entryId":"$","event":1}]', '[{"entryId":"a","event":$,"contentType":"application/cloudevents+json"}]'],
  },
  InvokeBinding: {
    shape: { obj: { data: 'any', metadata: { map: 'string' }, operation: { enum: ['create', 'get', 'delete', 'list', 'post', 'put', 'patch', 'head', 'options'] } } },
    holes: ['{"operation":"create","data":"$","metadata":{"fileName":"f"}}', '{"operation":"get","metadata":{"fileName":"$"}}', '{"operation":"post","data":$}'],
  },
  TryLockAlpha1: { shape: { obj: { resourceId: 'string', lockOwner: 'string', expiryInSeconds: 'int', resource_id: 'string' } }, holes: ['{"resourceId":"$","lockOwner":"o","expiryInSeconds":5}'] },
  UnlockAlpha1: { shape: { obj: { resourceId: 'string', lockOwner: 'string' } }, holes: ['{"resourceId":"$","lockOwner":"o"}'] },
};

// ---- Path

const pctBytes = (b: Buffer): string => [...b].map((x) => `%${x.toString(16).padStart(2, '0').toUpperCase()}`).join('');

/** The component (or app) a route's parameters should mostly name, so requests get past the lookups. */
function favoured(route: Route): string[] {
  const by: [RegExp, string[]][] = [
    [/\/state\//, [NAMES.state]],
    [/\/configuration\//, [NAMES.config]],
    [/\/(un)?lock\//, [NAMES.lock]],
    [/\/secrets\//, [NAMES.secrets]],
    [/\/publish\//, [NAMES.pubsub]],
    [/\/bindings\//, [NAMES.localstorage, NAMES.httpBinding]],
    [/\/invoke\//, [APP_ID]],
  ];
  return by.find(([re]) => re.test(route.url))?.[1] ?? [];
}

/** One path parameter, as bytes on the wire: often the route's own component, else anything odd. */
const paramArb = (favour: string[], extra: string[]): fc.Arbitrary<Buffer> => fc.oneof(
  ...(favour.length ? [{ weight: 10, arbitrary: fc.constantFrom(...favour).map((s) => Buffer.from(s)) }] : []),
  { weight: 1, arbitrary: fc.constantFrom('', ...extra).map((s) => Buffer.from(s)) },
  { weight: 3, arbitrary: fc.constantFrom(...KNOWN).map((s) => Buffer.from(s)) },
  { weight: 3, arbitrary: oddString.map((s) => Buffer.from(encodeURIComponentSafe(s))) },
  {
    weight: 3,
    arbitrary: fc.constantFrom('', '.', '..', '%2e%2e', '%2E%2E%2F..%2F', '..%2F..%2Fcanary.txt', '%2F', '%00', '%', '%ZZ', '%C3%28', '%FF%FE', '%E2%82', 'a||b', 'a%7C%7Cb', ';', ';a=b', '%20', '+', '~', '%25', 'a%2Fb', '%5C..%5C').map((s) => Buffer.from(s)),
  },
  { weight: 1, arbitrary: invalidUtf8 }, // raw bytes >= 0x80 on the wire
  { weight: 1, arbitrary: invalidUtf8.map((b) => Buffer.from(pctBytes(b))) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 6000 }).map((n) => Buffer.from('k'.repeat(n))) },
);

/** encodeURIComponent, but lone surrogates go as the UTF-8 of U+FFFD instead of throwing. */
function encodeURIComponentSafe(s: string): string {
  return pctBytes(Buffer.from(s, 'utf8')).replace(/%([0-9A-F]{2})/g, (m, h: string) => {
    const c = String.fromCharCode(parseInt(h, 16));
    return /[A-Za-z0-9\-_.!~*'()]/.test(c) ? c : m;
  });
}

function pathArb(route: Route, extra: string[]): fc.Arbitrary<Buffer> {
  const param = paramArb(favoured(route), extra);
  const parts = route.url.split('/').slice(1);
  const segs = parts.map((p) => (p.startsWith(':') ? param : p === '*' ? fc.array(param, { minLength: 0, maxLength: 3 }).map((a) => Buffer.from(a.map((b) => b.toString('latin1')).join('/'), 'latin1')) : fc.constant(Buffer.from(p))));
  const joined = fc.tuple(...segs).map((bs) => Buffer.concat(bs.flatMap((b) => [Buffer.from('/'), b])));
  // Whole-path tricks: doubled slashes, trailing slash, dot segments, case, an absolute-form target.
  const trick = fc.oneof({ weight: 6, arbitrary: fc.constant('none') }, { weight: 1, arbitrary: fc.constantFrom('double', 'trailing', 'dot', 'dotdot', 'upper', 'absolute', 'fragment') });
  return fc.tuple(joined, trick).map(([p, trick]) => {
    const s = p.toString('latin1');
    switch (trick) {
      case 'double':
        return Buffer.from(s.replace(/\//g, '//'), 'latin1');
      case 'trailing':
        return Buffer.from(`${s}/`, 'latin1');
      case 'dot':
        return Buffer.from(s.replace(/^\/([^/]+)\//, '/$1/./'), 'latin1');
      case 'dotdot':
        return Buffer.from(s.replace(/^\/([^/]+)\//, '/$1/x/../'), 'latin1');
      case 'upper':
        return Buffer.from(s.toUpperCase(), 'latin1');
      case 'absolute':
        return Buffer.from(`http://127.0.0.1${s}`, 'latin1');
      case 'fragment':
        return Buffer.from(`${s}#frag`, 'latin1');
      default:
        return p;
    }
  });
}

// ---- Query

const queryKey = fc.oneof(
  fc.constantFrom('metadata.rawPayload', 'metadata.ttlInSeconds', 'metadata.contentType', 'metadata.cloudevent.id', 'metadata.cloudevent.type', 'metadata.partitionKey', 'metadata.fileName', 'metadata.', 'metadata', 'consistency', 'concurrency', 'key', 'appid', 'metadata.x'),
  oddString.map(encodeURIComponentSafe),
);
const queryValue = fc.oneof(
  fc.constantFrom('true', 'false', '1', '-1', '0', 'abc', '', 'strong', 'eventual', 'first-write', 'last-write', '9'.repeat(30), '%', '%ZZ', '%C3%28', '%FF', '%00', '+', 'a=b', 'a&b'),
  oddString.map(encodeURIComponentSafe),
);
const queryArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  { weight: 6, arbitrary: fc.array(fc.tuple(queryKey, queryValue, fc.boolean()), { minLength: 1, maxLength: 5 }).map((kv) => '?' + kv.map(([k, v, eq]) => (eq ? `${k}=${v}` : k)).join('&')) },
  { weight: 1, arbitrary: fc.constantFrom('?', '?&&', '?=', '?==', '?&=&', '?key', '?key=a&key=b&key=', '?metadata.rawPayload=true&metadata.rawPayload=false') },
);

// ---- Verbs and headers

const ODD_VERBS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'PURGE', 'FOO', 'M-SEARCH', 'get', 'G\u00e9T'];

const CONTENT_TYPES = [
  'application/json', 'text/plain', 'application/octet-stream', 'application/cloudevents+json', 'application/cloudevents-batch+json',
  'application/json; charset=utf-16', 'application/json; charset=\xff', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
  '*/*', '', 'json', ';;;', 'text/', '/json', 'application/json;;', 'APPLICATION/JSON', 'application/grpc', 'a'.repeat(2000),
];

/** Header values: mostly printable, sometimes obs-text bytes, rarely control characters (a parser error). */
const headerValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: oddString.map((s) => s.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '').replace(/[^\x00-\xff]/g, '?')) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 32 }).map((a) => Buffer.from(a.map((b) => (b < 0x20 ? 0x20 + b : b))).toString('latin1')) },
  { weight: 1, arbitrary: fc.constantFrom('\x01', 'a\x00b', 'a\rb', ' leading', 'trailing ', '\t') },
);

const appIdValue: fc.Arbitrary<string> = fc.oneof(fc.constantFrom(APP_ID, 'nope', '', 'a.b.c', '..', `${APP_ID}.default`), headerValue).filter(NO_URL);

const extraHeader: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(fc.constant('if-match'), headerValue),
  fc.tuple(fc.constant('dapr-app-id'), appIdValue),
  fc.tuple(fc.constant('authorization'), appIdValue.map((id) => `Basic ${Buffer.from(`dapr-app-id:${id}`).toString('base64')}`)),
  fc.tuple(fc.constant('authorization'), headerValue),
  fc.tuple(fc.constantFrom('traceparent', 'tracestate', 'baggage', 'grpc-trace-bin'), fc.oneof(headerValue, fc.constant('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'), fc.constant('ff-zz-zz-zz'))),
  fc.tuple(fc.constantFrom('content-encoding', 'accept-encoding'), fc.constantFrom('gzip', 'br', 'deflate', 'identity', 'x-unknown')),
  fc.tuple(fc.constant('expect'), fc.constantFrom('100-continue', 'nonsense')),
  fc.tuple(fc.constantFrom('dapr-api-token', 'dapr-caller-app-id', 'dapr-callee-app-id', 'x-forwarded-for', 'forwarded', 'dapr-force-shutdown'), headerValue),
  fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), headerValue),
);

export function requestArb(route: Route, extraNames: string[] = []): fc.Arbitrary<RawRequest> {
  const method = fc.oneof({ weight: 8, arbitrary: fc.constantFrom<string>(...route.methods) }, { weight: 1, arbitrary: fc.constantFrom(...ODD_VERBS) });
  const contentType = fc.option(fc.constantFrom(...CONTENT_TYPES), { nil: undefined });
  const framing = fc.constantFrom<RawRequest['framing']>('length', 'length', 'length', 'chunked', 'none');
  return fc
    .record({
      method,
      path: pathArb(route, extraNames),
      query: queryArb,
      contentType,
      headers: fc.array(extraHeader, { maxLength: 3 }),
      body: bodyArb(BODIES[route.name] ?? {}),
      framing,
    })
    .map((r) =>
      printable({
        method: r.method,
        path: Buffer.concat([r.path, Buffer.from(r.query, 'latin1')]),
        headers: [...(r.contentType !== undefined ? [['content-type', r.contentType] as [string, string]] : []), ...r.headers],
        body: r.framing === 'none' ? Buffer.alloc(0) : r.body,
        framing: r.framing,
      }),
    );
}

/** fast-check prints a counterexample with describe() instead of byte arrays. */
export const printable = (req: RawRequest): RawRequest => Object.assign(req, { [fc.toStringMethod]: () => describe(req) });

/** Printable form of a request for failure messages (bytes that are not printable escaped). */
export function describe(req: RawRequest): string {
  const esc = (b: Buffer | string, max = 300) => {
    const s = (Buffer.isBuffer(b) ? b : Buffer.from(b, 'latin1')).toString('latin1');
    return JSON.stringify(s.length > max ? `${s.slice(0, max)}…(${s.length} bytes)` : s);
  };
  return `${req.method} ${esc(req.path)} headers=${JSON.stringify(req.headers.map(([k, v]) => [k, esc(v, 80)]))} framing=${req.framing} body=${esc(req.body)}`;
}
