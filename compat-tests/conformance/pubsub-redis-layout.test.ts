// pubsub.redis keeps daprd's stream layout, checked with redis-cli against the real server: what
// it publishes daprd can read (fields `data` and `metadata`, the group named consumerID), and
// entries written the way daprd writes them are delivered with their metadata. Also the stream
// trimming options (maxLenApprox, streamTTL) and redeliverInterval 0 turning redelivery off.
import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { registries } from '../../src/components/builtin';
import type { PubSub, PubSubMessage } from '../../src/components/pubsub/types';
import { requireService } from '../../test/services';
import { sleep, until } from '../../test/wait';

const cli = (...args: string[]): string => execFileSync('redis-cli', ['--no-raw', ...args]).toString().trim();
const raw = (...args: string[]): string => execFileSync('redis-cli', args).toString().trim();

describe('pubsub.redis stream layout', () => {
  let ready = false;
  let redis: Redis;
  const run = `psrl-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const topic = (t: string) => `${run}-${t}`;
  const open: PubSub[] = [];

  const create = async (props: Record<string, string> = {}): Promise<PubSub> => {
    const ps = registries.pubsub.create('redis')!;
    open.push(ps);
    const properties = { redisHost: 'localhost:6379', consumerID: `${run}-app`, processingTimeout: '200ms', redeliverInterval: '200ms', ...props };
    await ps.init({ name: 'redis-pubsub', type: 'pubsub.redis', version: 'v1', appId: 'layout', namespace: '', properties });
    return ps;
  };
  const it_ = (name: string, fn: () => Promise<void>) => it(name, () => (ready ? fn() : Promise.resolve()), 20000);

  beforeAll(async () => {
    ready = await requireService('redis', '127.0.0.1', 6379);
    if (ready) redis = new Redis({ host: '127.0.0.1', port: 6379 });
  });

  afterAll(async () => {
    for (const ps of open) await ps.close();
    if (!ready) return;
    const keys = await redis.keys(`${run}-*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it_('XADD writes data (exact bytes) and metadata (JSON); subscribing creates the group consumerID', async () => {
    const ps = await create();
    const t = topic('publish');
    await ps.subscribe({ topic: t, metadata: {} }, async () => undefined);
    expect(raw('XINFO', 'GROUPS', t).split('\n').slice(0, 2)).toEqual(['name', `${run}-app`]);
    await ps.publish({ topic: t, data: Buffer.from([0x00, 0xff, 0x41, 0x0a]), metadata: { ttlInSeconds: '10', 'cloudevent.id': 'x' } });
    const [, fields] = (await redis.xrangeBuffer(t, '-', '+'))[0]!;
    expect(fields.map((f) => f.toString('latin1'))).toEqual(['data', '\x00\xffA\n', 'metadata', '{"ttlInSeconds":"10","cloudevent.id":"x"}']);
    expect(cli('XRANGE', t, '-', '+')).toContain('"\\x00\\xffA\\n"');
  });

  it_('entries written the way daprd writes them are delivered with their metadata', async () => {
    const ps = await create();
    const t = topic('daprd');
    const got: PubSubMessage[] = [];
    await ps.subscribe({ topic: t, metadata: {} }, async (m) => void got.push(m));
    raw('XADD', t, '*', 'data', '{"specversion":"1.0","id":"1"}', 'metadata', '{"rawPayload":"false","k":"v"}');
    // An older daprd wrote data only.
    raw('XADD', t, '*', 'data', 'plain');
    await until(() => got.length === 2, () => `${got.length} received`, 10000);
    expect(got.map((m) => [m.topic, m.data.toString(), m.metadata])).toEqual([
      [t, '{"specversion":"1.0","id":"1"}', { rawPayload: 'false', k: 'v' }],
      [t, 'plain', {}],
    ]);
    await until(() => raw('XPENDING', t, `${run}-app`).split('\n')[0] === '0', () => 'entries still pending', 10000);
  });

  it_('maxLenApprox trims with XADD MAXLEN ~', async () => {
    const ps = await create({ maxLenApprox: '10' });
    const t = topic('maxlen');
    const fill = redis.pipeline();
    for (let i = 0; i < 250; i++) fill.xadd(t, '*', 'data', `${i}`);
    await fill.exec();
    await ps.publish({ topic: t, data: Buffer.from('last'), metadata: {} });
    // Approximate: whole nodes of 100 entries go, so at least 10 and far fewer than 251 stay.
    const len = Number(raw('XLEN', t));
    expect(len).toBeGreaterThanOrEqual(10);
    expect(len).toBeLessThan(200);
  });

  it_('streamTTL trims entries older than the TTL with XADD MINID ~', async () => {
    const ps = await create({ streamTTL: '1h' });
    const t = topic('ttl');
    const fill = redis.pipeline();
    const old = Date.now() - 2 * 3600_000;
    for (let i = 0; i < 250; i++) fill.xadd(t, `${old}-${i}`, 'data', `${i}`);
    await fill.exec();
    await ps.publish({ topic: t, data: Buffer.from('new'), metadata: {} });
    expect(Number(raw('XLEN', t))).toBeLessThan(200);
  });

  it_('redeliverInterval 0: a rejected entry stays pending and is not delivered again', async () => {
    const ps = await create({ redeliverInterval: '0' });
    const t = topic('noredeliver');
    let deliveries = 0;
    await ps.subscribe({ topic: t, metadata: {} }, async () => {
      deliveries++;
      throw new Error('no');
    });
    await ps.publish({ topic: t, data: Buffer.from('once'), metadata: {} });
    await until(() => deliveries === 1, () => `${deliveries} deliveries`, 10000);
    await sleep(1500);
    expect(deliveries).toBe(1);
    expect(raw('XPENDING', t, `${run}-app`).split('\n')[0]).toBe('1');
  });
});
