// The built sidecar's Dapr HTTP configuration routes (the JS SDK refuses configuration over HTTP,
// so plain fetch): GET with repeated ?key= (200 map / 204 none) on /v1.0 and /v1.0-alpha1, lookup
// errors, subscribe without an app channel (500 ERR_APP_CHANNEL_NIL), and with --app-port the
// update POSTed to the app at /configuration/{store}/{key}, then unsubscribe.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Redis } from 'ioredis';
import { uniqueRun } from '../helpers/lock-backends';
import { componentYaml, freePort, type Sidecar, startSidecar } from '../helpers/sidecar';
import { requireService } from '../../test/services';
import { eventually } from '../../test/wait';

const STORE = 'configstore';
const run = uniqueRun();
const k = (n: string) => `http-conf-${n}-${run}`;
const YAML = { 'c.yaml': componentYaml(STORE, 'configuration.redis', { redisHost: 'localhost:6379' }) };

async function get(port: number, path: string): Promise<{ status: number; body: unknown }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

describe('Dapr HTTP configuration on configuration.redis', () => {
  let enabled = false;
  let sc: Sidecar;
  let redis: Redis;

  beforeAll(async () => {
    enabled = await requireService('redis', '127.0.0.1', 6379);
    if (!enabled) return;
    redis = new Redis({ host: '127.0.0.1', port: 6379 });
    sc = await startSidecar({ resources: YAML });
  });
  afterAll(async () => {
    if (!enabled) return;
    await redis.del(k('a'), k('b'));
    await sc.stop();
    await redis.quit();
  });

  it.each(['v1.0', 'v1.0-alpha1'])('GET /%s/configuration/{store}?key=a&key=b: 200 map of items, 204 when none', async (v) => {
    if (!enabled) return;
    await redis.set(k('a'), 'va||3');
    await redis.set(k('b'), 'vb||1');
    const res = await get(sc.httpPort, `/${v}/configuration/${STORE}?key=${k('a')}&key=${k('b')}&key=${k('missing')}`);
    expect(res).toEqual({ status: 200, body: { [k('a')]: { value: 'va', version: '3' }, [k('b')]: { value: 'vb', version: '1' } } });
    expect((await get(sc.httpPort, `/${v}/configuration/${STORE}?key=${k('missing')}`)).status).toBe(204);
  });

  it('unknown store 400 ERR_CONFIGURATION_STORE_NOT_FOUND; subscribe without an app channel 500 ERR_APP_CHANNEL_NIL', async () => {
    if (!enabled) return;
    expect(await get(sc.httpPort, '/v1.0/configuration/nope?key=a')).toEqual({
      status: 400,
      body: { errorCode: 'ERR_CONFIGURATION_STORE_NOT_FOUND', message: 'configuration store nope not found' },
    });
    expect(await get(sc.httpPort, `/v1.0/configuration/${STORE}/subscribe?key=a`)).toEqual({
      status: 500,
      body: { errorCode: 'ERR_APP_CHANNEL_NIL', message: 'app channel is not initialized. cannot subscribe to configuration updates' },
    });
  });
});

describe('Dapr HTTP configuration subscription delivered to the app (--app-port)', () => {
  let enabled = false;
  let sc: Sidecar;
  let redis: Redis;
  let app: Server;
  const posts: { url: string; body: unknown }[] = [];

  beforeAll(async () => {
    enabled = await requireService('redis', '127.0.0.1', 6379);
    if (!enabled) return;
    redis = new Redis({ host: '127.0.0.1', port: 6379 });
    const appPort = await freePort();
    app = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (req.method === 'POST' && req.url?.startsWith('/configuration/')) posts.push({ url: req.url, body: JSON.parse(body) });
        res.statusCode = req.url?.startsWith('/configuration/') ? 200 : 404;
        res.end();
      });
    });
    await new Promise<void>((r) => app.listen(appPort, '127.0.0.1', () => r()));
    sc = await startSidecar({ resources: YAML, args: ['--app-port', String(appPort)] });
  });
  afterAll(async () => {
    if (!enabled) return;
    await redis.del(k('s'));
    await sc.stop();
    await redis.quit();
    await new Promise((r) => app.close(r));
  });

  it('subscribe → {id}; a Redis write is POSTed as {id, items}; unsubscribe → {ok:true}, again → 500 {message}', async () => {
    if (!enabled) return;
    const sub = await get(sc.httpPort, `/v1.0/configuration/${STORE}/subscribe?key=${k('s')}`);
    expect(sub.status).toBe(200);
    const id = (sub.body as { id: string }).id;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await redis.set(k('s'), 'hello||5');
    await eventually(() => posts.length >= 1);
    expect(posts[0]).toEqual({ url: `/configuration/${STORE}/${k('s')}`, body: { id, items: { [k('s')]: { value: 'hello', version: '5' } } } });

    expect(await get(sc.httpPort, `/v1.0/configuration/${STORE}/${id}/unsubscribe`)).toEqual({ status: 200, body: { ok: true } });
    expect(await get(sc.httpPort, `/v1.0-alpha1/configuration/${STORE}/${id}/unsubscribe`)).toEqual({
      status: 500,
      body: { message: `failed to unsubscribe to configuration request ${id}: subscription with id ${id} does not exist` },
    });
  });
});
