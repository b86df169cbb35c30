// The HTTP app channel's input-binding calls against a real node:http app: daprd's OPTIONS probe
// and the POST that carries an event.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpAppChannel } from './http';

let server: http.Server;
let channel: HttpAppChannel;
let seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer }[] = [];
let answer: (url: string, method: string) => { status: number; body?: string } = () => ({ status: 200 });

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
      const a = answer(req.url!, req.method!);
      res.writeHead(a.status);
      res.end(a.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  channel = new HttpAppChannel({ address: '127.0.0.1', port: (server.address() as AddressInfo).port, protocol: 'http', appId: 'a', appApiToken: 'tok' });
});

afterAll(async () => {
  await channel.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

beforeEach(() => {
  seen = [];
  answer = () => ({ status: 200 });
});

test('the probe is OPTIONS /<route>; 2xx and 405 mean listening, 404 not', async () => {
  for (const [status, want] of [[200, true], [204, true], [405, true], [404, false], [500, false]] as const) {
    answer = () => ({ status });
    expect(await channel.listensToBinding('b', 'b')).toBe(want);
  }
  expect(seen[0]).toMatchObject({ method: 'OPTIONS', url: '/b' });
  expect(seen[0]!.headers['dapr-api-token']).toBe('tok');
});

test('an event is POSTed as JSON with its metadata as headers; the body answers; non-2xx rejects', async () => {
  answer = () => ({ status: 200, body: '{"to":["out"],"data":{"n":1}}' });
  const reply = await channel.deliverBindingEvent({ name: 'b', route: '/in/b', data: Buffer.from('{"v":1}'), metadata: { topic: 'x/y', 'Bad Header': 'skipped', readTimeUTC: 't' } });
  expect(seen[0]).toMatchObject({ method: 'POST', url: '/in/b', body: Buffer.from('{"v":1}') });
  expect(seen[0]!.headers).toMatchObject({ 'content-type': 'application/json', topic: 'x/y', readtimeutc: 't', 'dapr-api-token': 'tok' });
  expect(seen[0]!.headers['bad header']).toBeUndefined();
  expect(reply.to).toEqual(['out']);
  expect(reply.data.toString()).toBe('{"n":1}');
  answer = () => ({ status: 503, body: 'busy' });
  await expect(channel.deliverBindingEvent({ name: 'b', route: 'b', data: Buffer.alloc(0), metadata: {} })).rejects.toThrow('status code: 503 body: busy');
});
