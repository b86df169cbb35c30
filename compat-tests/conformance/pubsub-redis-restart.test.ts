// pubsub.redis against a redis-server of the test's own (free port, AOF in a temp dir), so it can
// be stopped without disturbing the shared one on 6379:
// - a restart with events in flight: some handled, some held by their handler while Redis goes
//   away (their XACK fails), some rejected (pending). Redis shuts down cleanly (AOF kept) and comes
//   back on the same port; the subscription reconnects by itself, reclaims what is pending,
//   reads what is published after, and in the end every event was handled and acknowledged,
//   with no crash and no unhandled rejection;
// - a restart that lost everything (the group is gone): the group is made again and delivery goes on;
// - init fails with a clear error when Redis is down.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { registries } from '../../src/components/builtin';
import type { PubSub } from '../../src/components/pubsub/types';
import { sleep, until } from '../../test/wait';
import { findBinary, PrivateServer } from '../helpers/private-server';
import { freePort } from '../helpers/sidecar';

/**
 * One redis-server on a fixed port whose AOF survives stop()/start() (stop() is a SIGTERM: Redis
 * shuts down cleanly, the AOF keeps the stream, its groups and their pending entries); wipe()
 * forgets everything.
 */
class PrivateRedis extends PrivateServer {
  constructor(binary: string, port: number) {
    super({
      name: 'redis',
      binary,
      port,
      args: (dir) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir],
    });
  }

  wipe(): void {
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir);
  }

  cli(...args: string[]): string {
    return execFileSync('redis-cli', ['-p', String(this.port), ...args], { encoding: 'utf8' }).trim();
  }
}

describe('pubsub.redis: Redis restart with events in flight', () => {
  const binary = findBinary('redis-server', 'the redis restart tests');
  let server: PrivateRedis | undefined;
  const run = `psrr-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const open: PubSub[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => void unhandled.push(e);

  const create = async (consumerID: string, port = server!.port): Promise<PubSub> => {
    const ps = registries.pubsub.create('redis')!;
    open.push(ps);
    await ps.init({
      name: 'redis-pubsub',
      type: 'pubsub.redis',
      version: 'v1',
      appId: 'restart',
      namespace: '',
      properties: { redisHost: `127.0.0.1:${port}`, consumerID, processingTimeout: '1s', redeliverInterval: '300ms', concurrency: '4', dialTimeout: '1s' },
    });
    return ps;
  };
  /** Publishes, retrying while the component is still reconnecting. */
  const publishSoon = async (ps: PubSub, topic: string, body: string) => {
    for (let i = 0; ; i++) {
      try {
        return await ps.publish({ topic, data: Buffer.from(body), metadata: { n: body } });
      } catch (e) {
        if (i > 50) throw e;
        await sleep(200);
      }
    }
  };
  const test = (name: string, fn: () => Promise<void>) => it(name, () => (server ? fn() : Promise.resolve()), 30000);

  beforeAll(async () => {
    if (!binary) return;
    process.on('unhandledRejection', onUnhandled);
    server = new PrivateRedis(binary, await freePort());
    await server.start();
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    for (const ps of open) await ps.close();
    await server?.remove();
  });

  afterEach(() => expect(unhandled).toEqual([]));

  test('every event is handled and acknowledged across a restart; the subscription reconnects by itself', async () => {
    const consumerID = `${run}-inflight`;
    const topic = `${run}-inflight`;
    const ps = await create(consumerID);
    const hold = new Set(['e0', 'e1']);
    const fail = new Set(['e2', 'e3']);
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let healthy = false;
    const attempts = new Map<string, number>();
    const done = new Set<string>();
    await ps.subscribe({ topic, metadata: {} }, async (m) => {
      const body = m.data.toString();
      expect(m.metadata.n).toBe(body);
      const n = (attempts.get(body) ?? 0) + 1;
      attempts.set(body, n);
      // In flight across the outage: resolves while Redis is down, so its XACK fails.
      if (hold.has(body) && n === 1) await released;
      // Rejected until Redis is back: pending when it goes down.
      if (fail.has(body) && !healthy) throw new Error('not yet');
      done.add(body);
    });

    for (let i = 0; i < 10; i++) await ps.publish({ topic, data: Buffer.from(`e${i}`), metadata: { n: `e${i}` } });
    const settled = () => [...hold, ...fail].every((b) => attempts.has(b)) && [4, 5, 6, 7, 8, 9].every((i) => done.has(`e${i}`));
    await until(settled, () => `attempts ${JSON.stringify([...attempts])}, done ${[...done]}`);
    expect(Number(server!.cli('XPENDING', topic, consumerID).split('\n')[0])).toBe(4);

    await server!.stop();
    release();
    await expect(ps.publish({ topic, data: Buffer.from('lost'), metadata: {} })).rejects.toThrow('redis streams: error from publish');
    await sleep(1000); // reconnect attempts fail meanwhile
    await server!.start();
    healthy = true;

    // What was pending before the restart is still pending after it (AOF), and comes again.
    for (let i = 10; i < 15; i++) await publishSoon(ps, topic, `e${i}`);
    const all = Array.from({ length: 15 }, (_, i) => `e${i}`);
    await until(() => all.every((b) => done.has(b)), () => `done ${[...done]}`);
    await until(() => server!.cli('XPENDING', topic, consumerID).split('\n')[0] === '0', () => server!.cli('XPENDING', topic, consumerID));
    expect(server!.cli('XLEN', topic)).toBe('15');
    for (const b of fail) expect(attempts.get(b)).toBeGreaterThan(1);
  });

  test('a restart that lost the group: the group is made again and delivery goes on', async () => {
    const consumerID = `${run}-wiped`;
    const topic = `${run}-wiped`;
    const ps = await create(consumerID);
    const got: string[] = [];
    await ps.subscribe({ topic, metadata: {} }, async (m) => void got.push(m.data.toString()));
    await ps.publish({ topic, data: Buffer.from('before'), metadata: {} });
    await until(() => got.includes('before'), () => got.join(','));

    await server!.stop();
    server!.wipe();
    await server!.start();

    await until(() => server!.cli('EXISTS', topic) === '1', () => 'the group (and its stream) was not made again', 10000);
    await publishSoon(ps, topic, 'after');
    await until(() => got.includes('after'), () => got.join(','));
  });

  test('init fails with a clear error when Redis is down', async () => {
    const port = await freePort();
    const started = Date.now();
    await expect(create(`${run}-down`, port)).rejects.toThrow(`redis streams: error connecting to redis at 127.0.0.1:${port}`);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
