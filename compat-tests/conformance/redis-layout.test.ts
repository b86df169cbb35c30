// state.redis storage is daprd's: checked with redis-cli against the real server, and hashes
// written the way daprd writes them are read back correctly.
import { execFileSync } from 'node:child_process';
import { RedisStateStore } from '../../src/components/state/redis';
import { requireService } from '../../test/services';

const cli = (...args: string[]): Buffer => execFileSync('redis-cli', ['--no-raw', ...args]);
const raw = (...args: string[]): string => execFileSync('redis-cli', args).toString().trim();

describe('state.redis storage layout', () => {
  let store: RedisStateStore;
  let ready = false;
  const run = `layout${Date.now().toString(36)}`;
  const key = (k: string) => `${run}||${k}`;

  beforeAll(async () => {
    if (!(await requireService('redis', '127.0.0.1', 6379))) return;
    store = new RedisStateStore();
    await store.init({ name: 's', type: 'state.redis', version: 'v1', properties: { redisHost: 'localhost:6379' }, appId: 'a', namespace: '' });
    ready = true;
  });
  afterAll(async () => {
    if (!ready) return;
    raw('DEL', key('bytes'), key('fw'), key('daprd'), key('legacy'), key('noetag'));
    await store.close();
  });

  it('HGETALL shows data (exact bytes) and an integer version', async () => {
    if (!ready) return;
    const bytes = Buffer.from([0x00, 0xff, 0x41, 0x0a, 0x22]);
    await store.set({ key: key('bytes'), value: bytes, metadata: {} });
    await store.set({ key: key('bytes'), value: bytes, metadata: {} });
    expect(raw('TYPE', key('bytes'))).toBe('hash');
    // --no-raw quotes binary with escapes: "\x00\xffA\n\""
    expect(cli('HGET', key('bytes'), 'data').toString().trim()).toBe('"\\x00\\xffA\\n\\""');
    expect(raw('HGET', key('bytes'), 'version')).toBe('2');
    expect(raw('HKEYS', key('bytes')).split('\n').sort()).toEqual(['data', 'version']);
    expect(raw('TTL', key('bytes'))).toBe('-1');
    await store.set({ key: key('noetag'), value: Buffer.from('{"a":1}'), metadata: {} });
    expect(raw('HGETALL', key('noetag')).split('\n')).toEqual(['data', '{"a":1}', 'version', '1']);
  });

  it('first-write writes keep the first-write marker and EXPIRE sets the key TTL', async () => {
    if (!ready) return;
    await store.set({ key: key('fw'), value: Buffer.from('"v"'), metadata: {}, options: { concurrency: 'first-write' }, ttlInSeconds: 100 });
    expect(raw('HGET', key('fw'), 'first-write')).toBe('0');
    expect(Number(raw('TTL', key('fw')))).toBeGreaterThan(90);
    // Without an ETag, a further write to a first-write key fails (contrib's script).
    await expect(store.set({ key: key('fw'), value: Buffer.from('"w"'), metadata: {} })).rejects.toThrow('failed to set key');
  });

  it('reads a hash written the way daprd writes it, and honours its version as ETag', async () => {
    if (!ready) return;
    raw('HSET', key('daprd'), 'data', '{"from":"daprd"}', 'version', '7');
    const got = await store.get({ key: key('daprd'), metadata: {} });
    expect(got?.data.toString()).toBe('{"from":"daprd"}');
    expect(got?.etag).toBe('7');
    await expect(store.set({ key: key('daprd'), value: Buffer.from('1'), etag: '6', metadata: {} })).rejects.toMatchObject({ reason: 'mismatch' });
    // etag "0" on a key written without first-write behaves as "no etag" (contrib's Lua).
    await store.set({ key: key('daprd'), value: Buffer.from('1'), etag: '0', metadata: {} });
    expect(raw('HGET', key('daprd'), 'version')).toBe('8');
    await store.delete({ key: key('daprd'), etag: '8', metadata: {} });
    expect(raw('EXISTS', key('daprd'))).toBe('0');
  });

  it('a plain string key (pre-hash layout) is readable without an ETag', async () => {
    if (!ready) return;
    raw('SET', key('legacy'), 'old-value');
    const got = await store.get({ key: key('legacy'), metadata: {} });
    expect(got?.data.toString()).toBe('old-value');
    expect(got?.etag).toBeUndefined();
  });

  it('init fails fast with a clear error when Redis is unreachable', async () => {
    const bad = new RedisStateStore();
    await expect(
      bad.init({ name: 's', type: 'state.redis', version: 'v1', properties: { redisHost: '127.0.0.1:1' }, appId: 'a', namespace: '' }),
    ).rejects.toThrow(/error connecting to redis at 127.0.0.1:1: .*ECONNREFUSED/);
  });

  it('rejects a missing redisHost as a configuration error', async () => {
    const bad = new RedisStateStore();
    await expect(bad.init({ name: 's', type: 'state.redis', version: 'v1', properties: {}, appId: 'a', namespace: '' })).rejects.toThrow('redisHost');
  });
});
