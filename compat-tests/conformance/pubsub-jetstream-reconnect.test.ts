// pubsub.jetstream when the broker goes away: on a nats-server this test owns (own port and store,
// so the shared one is untouched), killing the server fails publishes without crashing or leaving
// unhandled rejections, and once it is back the same component reconnects, publishes again and
// its durable subscription goes on receiving.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JetStreamPubSub } from '../../src/components/pubsub/jetstream';
import { inCI, reachable } from '../../test/services';

const hasServer = spawnSync('nats-server', ['--version']).status === 0;
if (!hasServer) {
  if (inCI()) throw new Error('nats-server is not installed (CI requires it)');
  process.stderr.write('\n!!! SKIPPED: nats-server is not installed; pubsub.jetstream reconnect tests are skipped.\n\n');
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(cond: () => boolean | Promise<boolean>, what: () => string, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what()}`);
    await sleep(50);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

(hasServer ? describe : describe.skip)('pubsub.jetstream reconnect', () => {
  const store = mkdtempSync(join(tmpdir(), 'jetstream-reconnect-'));
  let port = 0;
  let server: ChildProcess | undefined;
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => void unhandled.push(e);

  const start = async () => {
    server = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store], { stdio: 'ignore' });
    await until(() => reachable('127.0.0.1', port, 200), () => `nats-server on ${port}`);
  };
  const stop = async () => {
    const s = server;
    server = undefined;
    if (!s || s.exitCode !== null) return;
    const exited = new Promise((r) => s.once('exit', r));
    s.kill('SIGKILL');
    await exited;
  };

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    port = await freePort();
    await start();
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await stop();
    rmSync(store, { recursive: true, force: true });
  });

  it('survives the server going away and resumes when it is back', async () => {
    const ps = new JetStreamPubSub();
    const properties = { natsURL: `nats://127.0.0.1:${port}`, consumerID: 'app', streamName: 'reconnect', ackWait: '1s' };
    await ps.init({ name: 'pubsub', type: 'pubsub.jetstream', version: 'v1', appId: 'app', namespace: '', properties });
    try {
      const got: string[] = [];
      await ps.subscribe({ topic: 'orders', metadata: {} }, async (m) => void got.push(m.data.toString()));
      await ps.publish({ topic: 'orders', data: Buffer.from('before'), metadata: {} });
      await until(() => got.length === 1, () => got.join(','));

      await stop();
      // Fails (after the client's request timeout); whether the bytes reach the server later is
      // the client's business: the caller was told it failed and retries.
      await expect(ps.publish({ topic: 'orders', data: Buffer.from('lost'), metadata: {} })).rejects.toThrow();

      await start();
      // Publishing again works once the client has reconnected (it retries every 2s).
      await until(
        () => ps.publish({ topic: 'orders', data: Buffer.from('after'), metadata: {} }).then(() => true, () => false),
        () => 'publish after restart',
      );
      await until(() => got.includes('after'), () => got.join(','));
      expect(got[0]).toBe('before');
      expect(unhandled).toEqual([]);
    } finally {
      await ps.close();
    }
  }, 30000);
});
