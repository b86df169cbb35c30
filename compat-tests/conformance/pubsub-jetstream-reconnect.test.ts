// pubsub.jetstream when the broker goes away: on a nats-server this test owns (own port and store,
// so the shared one is untouched), killing the server fails publishes without crashing or leaving
// unhandled rejections, and once it is back the same component reconnects, publishes again and
// its durable subscription goes on receiving.
import { JetStreamPubSub } from '../../src/components/pubsub/jetstream';
import { until } from '../../test/wait';
import { findBinary, PrivateServer } from '../helpers/private-server';
import { freePort } from '../helpers/sidecar';

const binary = findBinary('nats-server', 'the pubsub.jetstream reconnect tests');

(binary ? describe : describe.skip)('pubsub.jetstream reconnect', () => {
  let server: PrivateServer | undefined;
  let port = 0;
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => void unhandled.push(e);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    port = await freePort();
    // Its own port and store (the server's temp dir).
    server = new PrivateServer({ name: 'nats-server', binary: binary!, port, args: (store) => ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store] });
    await server.start();
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await server?.remove();
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

      await server!.kill();
      // Fails (after the client's request timeout); whether the bytes reach the server later is
      // the client's business: the caller was told it failed and retries.
      await expect(ps.publish({ topic: 'orders', data: Buffer.from('lost'), metadata: {} })).rejects.toThrow();

      await server!.start();
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
