// The HTTP app channel against a real node:http app on loopback: GET /dapr/subscribe parsing,
// the delivery request daprd sends, and every status mapping of daprd's HTTP postman.
import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { sampleCloudEvent, sampleTopicEvent } from '../../test/app-events';
import { HttpAppChannel } from './http';
import type { AppBulkEvent, AppTopicEvent } from './types';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  httpVersion: string;
}
interface Reply {
  status: number;
  body?: string;
}

let server: http.Server;
let port: number;
let reply: (req: Seen) => Reply = () => ({ status: 200 });
let seen: Seen[] = [];
let channel: HttpAppChannel;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString(), httpVersion: req.httpVersion };
      seen.push(s);
      const r = reply(s);
      res.writeHead(r.status);
      res.end(r.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  channel = new HttpAppChannel({ address: '127.0.0.1', port, protocol: 'http', appId: 'sub-app', appApiToken: 'app-secret' });
});

afterAll(async () => {
  await channel.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen = [];
  reply = () => ({ status: 200 });
});

const event = (over: Partial<AppTopicEvent> = {}): AppTopicEvent => sampleTopicEvent({ cloudEvent: sampleCloudEvent({ tracestate: 'vendor=x' }), ...over });

describe('listSubscriptions', () => {
  test('GET /dapr/subscribe with dapr-app-id and the app token; v1 route and v2 routes both read', async () => {
    reply = () => ({
      status: 200,
      body: JSON.stringify([
        { pubsubname: 'ps', topic: 'a', route: 'a-handler', metadata: { rawPayload: 'true' }, deadLetterTopic: 'dlq' },
        {
          pubsubname: 'ps',
          topic: 'b',
          route: '/ignored-when-routes-default-set',
          routes: { rules: [{ match: ' event.type == "x" ', path: '/x' }], default: '/b-default' },
          bulkSubscribe: { enabled: true, maxMessagesCount: 50, maxAwaitDurationMs: 200 },
        },
        { pubsubname: 'ps', topic: 'c', routes: { rules: [{ match: 'event.type == "y"', path: '/y' }] } },
      ]),
    });
    const subs = await channel.listSubscriptions();
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/dapr/subscribe' });
    expect(seen[0]!.headers['dapr-app-id']).toBe('sub-app');
    expect(seen[0]!.headers['dapr-api-token']).toBe('app-secret');
    expect(subs).toEqual([
      { pubsubName: 'ps', topic: 'a', metadata: { rawPayload: 'true' }, rules: [], defaultRoute: 'a-handler', deadLetterTopic: 'dlq' },
      {
        pubsubName: 'ps',
        topic: 'b',
        metadata: {},
        rules: [{ match: 'event.type == "x"', path: '/x' }],
        defaultRoute: '/b-default',
        deadLetterTopic: '',
        bulkSubscribe: { enabled: true, maxMessagesCount: 50, maxAwaitDurationMs: 200 },
      },
      { pubsubName: 'ps', topic: 'c', metadata: {}, rules: [{ match: 'event.type == "y"', path: '/y' }], defaultRoute: '', deadLetterTopic: '' },
    ]);
  });

  test('field names match case-insensitively (Go encoding/json); entries without any route are dropped', async () => {
    reply = () => ({
      status: 200,
      body: JSON.stringify([
        { pubsubName: 'ps', Topic: 't', Route: '/r', DeadLetterTopic: 'd' },
        { pubsubname: 'ps', topic: 'no-route' },
      ]),
    });
    expect(await channel.listSubscriptions()).toEqual([
      { pubsubName: 'ps', topic: 't', metadata: {}, rules: [], defaultRoute: '/r', deadLetterTopic: 'd' },
    ]);
  });

  test('404 → no subscriptions; null or an empty body → none either', async () => {
    reply = () => ({ status: 404, body: 'not found' });
    expect(await channel.listSubscriptions()).toEqual([]);
    reply = () => ({ status: 200, body: 'null' });
    expect(await channel.listSubscriptions()).toEqual([]);
    reply = () => ({ status: 200, body: '' });
    expect(await channel.listSubscriptions()).toEqual([]);
  });

  test('another non-2xx status, bad JSON or wrong types reject with a clear message', async () => {
    reply = () => ({ status: 500, body: 'boom' });
    await expect(channel.listSubscriptions()).rejects.toThrow('the app answered GET /dapr/subscribe with HTTP 500: boom');
    reply = () => ({ status: 200, body: '[{"pubsubname":' });
    await expect(channel.listSubscriptions()).rejects.toThrow(/GET \/dapr\/subscribe answer is not valid: not JSON/);
    reply = () => ({ status: 200, body: '{"pubsubname":"ps"}' });
    await expect(channel.listSubscriptions()).rejects.toThrow('expected a JSON array of subscriptions');
    reply = () => ({ status: 200, body: '[{"pubsubname":"ps","topic":5,"route":"/r"}]' });
    await expect(channel.listSubscriptions()).rejects.toThrow('[0].topic must be a string');
    reply = () => ({ status: 200, body: '[{"pubsubname":"ps","topic":"t","route":"/r","metadata":{"k":1}}]' });
    await expect(channel.listSubscriptions()).rejects.toThrow('[0].metadata.k must be a string');
  });

  test('an app that is not listening → rejects (the caller retries)', async () => {
    const down = new HttpAppChannel({ address: '127.0.0.1', port: 1, protocol: 'http', appId: 'x' });
    await expect(down.listSubscriptions()).rejects.toThrow();
    await expect(down.deliverEvent(event())).rejects.toThrow();
    await down.close();
  });
});

describe('deliverEvent', () => {
  test('POST <path> (leading slash added) with the CloudEvent, metadata, pubsubname, trace and token headers', async () => {
    const ev = event({ metadata: { 'x-broker': 'b1', 'Bad Header': 'v', 'x-newline': 'a\nb', 'content-type': 'text/evil' } });
    expect(await channel.deliverEvent(ev)).toBe('SUCCESS');
    const req = seen[0]!;
    expect(req).toMatchObject({ method: 'POST', url: '/orders' });
    expect(JSON.parse(req.body)).toEqual(ev.cloudEvent);
    expect(req.headers['content-type']).toBe('application/cloudevents+json');
    expect(req.headers['x-broker']).toBe('b1');
    expect(req.headers.pubsubname).toBe('ps');
    expect(req.headers.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(req.headers.tracestate).toBe('vendor=x');
    expect(req.headers['dapr-api-token']).toBe('app-secret');
    expect(req.headers['x-newline']).toBeUndefined();
  });

  test('a path that already starts with a slash is used as is, query included', async () => {
    await channel.deliverEvent(event({ path: '/a/b?x=1' }));
    expect(seen[0]!.url).toBe('/a/b?x=1');
  });

  test('traceid is used when the event has no traceparent', async () => {
    const ce = { ...event().cloudEvent, traceparent: undefined, traceid: '00-11111111111111111111111111111111-2222222222222222-01' };
    await channel.deliverEvent(event({ cloudEvent: ce }));
    expect(seen[0]!.headers.traceparent).toBe('00-11111111111111111111111111111111-2222222222222222-01');
  });

  test.each([
    ['200, empty body', 'SUCCESS', 200, ''],
    ['204, empty body', 'SUCCESS', 204, ''],
    ['200, non-JSON body', 'SUCCESS', 200, 'ok thanks'],
    ['200, JSON that is not an object', 'SUCCESS', 200, '"RETRY"'],
    ['200, JSON null', 'SUCCESS', 200, 'null'],
    ['200, {} (no status)', 'SUCCESS', 200, '{}'],
    ['200, status SUCCESS', 'SUCCESS', 200, '{"status":"SUCCESS"}'],
    ['200, empty status', 'SUCCESS', 200, '{"status":""}'],
    ['200, status RETRY', 'RETRY', 200, '{"status":"RETRY"}'],
    ['200, status DROP', 'DROP', 200, '{"status":"DROP"}'],
    ['201, status DROP', 'DROP', 201, '{"status":"DROP"}'],
    ['200, field name in another case', 'DROP', 200, '{"Status":"DROP"}'],
    ['200, unknown status', 'RETRY', 200, '{"status":"MAYBE"}'],
    ['200, lower-case status value (unknown to daprd)', 'RETRY', 200, '{"status":"success"}'],
    ['200, non-string status (a decode error: acked)', 'SUCCESS', 200, '{"status":1}'],
    ['404', 'DROP', 404, '{"status":"SUCCESS"}'],
    ['500', 'RETRY', 500, ''],
    ['503 with SUCCESS body', 'RETRY', 503, '{"status":"SUCCESS"}'],
    ['400', 'RETRY', 400, ''],
    ['301 (redirects are not followed)', 'RETRY', 301, ''],
  ])('%s → %s', async (_name, expected, status, body) => {
    reply = () => ({ status, body });
    expect(await channel.deliverEvent(event())).toBe(expected);
  });
});

describe('deliverBulk', () => {
  const bulk = (): AppBulkEvent => ({
    id: 'bulk-1',
    pubsubName: 'ps',
    topic: 'orders',
    path: 'bulk',
    metadata: { 'x-broker': 'b1' },
    entries: [
      { entryId: 'e1', event: { id: 'c1', specversion: '1.0', data: { a: 1 } }, contentType: '', metadata: { m: '1' } },
      { entryId: 'e2', event: Buffer.from([0, 1, 2, 255]), contentType: '', metadata: {} },
      { entryId: 'e3', event: { id: 'c3', data: 'x' }, contentType: 'application/cloudevents+json', metadata: {} },
    ],
  });

  test('POST application/json with daprd bulk envelope; raw entries base64-encoded', async () => {
    reply = () => ({ status: 200, body: JSON.stringify({ statuses: [{ entryId: 'e1', status: 'SUCCESS' }, { entryId: 'e2', status: 'SUCCESS' }, { entryId: 'e3', status: 'SUCCESS' }] }) });
    const res = await channel.deliverBulk(bulk());
    expect([...res]).toEqual([['e1', 'SUCCESS'], ['e2', 'SUCCESS'], ['e3', 'SUCCESS']]);
    const req = seen[0]!;
    expect(req).toMatchObject({ method: 'POST', url: '/bulk' });
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers.pubsubname).toBe('ps');
    expect(req.headers['x-broker']).toBe('b1');
    expect(req.headers['dapr-api-token']).toBe('app-secret');
    expect(JSON.parse(req.body)).toEqual({
      id: 'bulk-1',
      type: 'com.dapr.event.sent.bulk',
      topic: 'orders',
      pubsubname: 'ps',
      metadata: { 'x-broker': 'b1', pubsubName: 'ps' },
      entries: [
        { entryId: 'e1', event: { id: 'c1', specversion: '1.0', data: { a: 1 } }, metadata: { m: '1' }, contentType: 'application/cloudevents+json' },
        { entryId: 'e2', event: 'AAEC/w==', metadata: {}, contentType: 'application/octet-stream' },
        { entryId: 'e3', event: { id: 'c3', data: 'x' }, metadata: {}, contentType: 'application/cloudevents+json' },
      ],
    });
  });

  test('per-entry statuses: DROP, empty → RETRY, unknown → RETRY, missing → RETRY, foreign ids ignored', async () => {
    reply = () => ({
      status: 200,
      body: JSON.stringify({ statuses: [{ entryId: 'e1', status: 'DROP' }, { entryId: 'e2', status: '' }, { entryId: 'zz', status: 'SUCCESS' }] }),
    });
    expect([...(await channel.deliverBulk(bulk()))]).toEqual([['e1', 'DROP'], ['e2', 'RETRY'], ['e3', 'RETRY']]);
    reply = () => ({ status: 200, body: JSON.stringify({ Statuses: [{ EntryID: 'e3', status: 'SUCCESS' }, { entryId: 'e1', status: 'NOPE' }] }) });
    expect([...(await channel.deliverBulk(bulk()))]).toEqual([['e1', 'RETRY'], ['e2', 'RETRY'], ['e3', 'SUCCESS']]);
  });

  test.each([
    ['404 → every entry DROP', 404, '', 'DROP'],
    ['500 → every entry RETRY', 500, '{"statuses":[{"entryId":"e1","status":"SUCCESS"}]}', 'RETRY'],
    ['200 with a non-JSON body → every entry RETRY', 200, 'fine', 'RETRY'],
    ['200 with an empty body → every entry RETRY', 200, '', 'RETRY'],
    ['200 with a badly typed status → every entry RETRY', 200, '{"statuses":[{"entryId":"e1","status":1}]}', 'RETRY'],
  ])('%s', async (_name, status, body, expected) => {
    reply = () => ({ status, body });
    const res = await channel.deliverBulk(bulk());
    expect([...res.values()]).toEqual([expected, expected, expected]);
  });
});

test('h2c: the same contract over HTTP/2 with prior knowledge', async () => {
  const h2 = http2.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString(), httpVersion: req.httpVersion });
      res.writeHead(200);
      res.end(req.url === '/dapr/subscribe' ? '[{"pubsubname":"ps","topic":"t","route":"/t"}]' : '{"status":"DROP"}');
    });
  });
  await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
  const h2c = new HttpAppChannel({ address: '127.0.0.1', port: (h2.address() as AddressInfo).port, protocol: 'h2c', appId: 'a' });
  try {
    expect(await h2c.listSubscriptions()).toHaveLength(1);
    expect(await h2c.deliverEvent(event())).toBe('DROP');
    expect(seen.map((s) => s.httpVersion)).toEqual(['2.0', '2.0']);
    expect(seen[1]!.headers.pubsubname).toBe('ps');
  } finally {
    await h2c.close();
    await new Promise<void>((resolve) => h2.close(() => resolve()));
  }
});
