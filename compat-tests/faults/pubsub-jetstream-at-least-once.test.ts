// pubsub.jetstream at least once: 10,000 events through two sidecars across a restart of the
// NATS server and a crash of the subscriber (see at-least-once.ts). The server is this test's own
// (nats-server -js with its store on disk in a temp dir, on a free port), so the machine's NATS is
// untouched and the restart is a real process stop (SIGTERM) and start on the same port and store.
import { findBinary, PrivateServer } from '../helpers/private-server';
import { componentYaml, freePort } from '../helpers/sidecar';
import { runAtLeastOnce } from './at-least-once';

const N = Number(process.env.FAULTS_EVENTS ?? 10_000);

describe('pubsub.jetstream: at least once across a NATS restart and a subscriber crash', () => {
  const binary = findBinary('nats-server', 'the pubsub.jetstream at-least-once test');
  let server: PrivateServer | undefined;

  beforeAll(async () => {
    if (!binary) return;
    const port = await freePort();
    server = new PrivateServer({ name: 'nats-server', binary, port, args: (dir) => ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir] });
    await server.start();
  });

  afterAll(async () => {
    await server?.remove();
  });

  it(`every acknowledged event of ${N} arrives at least once`, async () => {
    if (!server) return;
    const run = `alo${Date.now().toString(36)}`;
    const counts = await runAtLeastOnce({
      label: 'pubsub.jetstream',
      n: N,
      pubsub: 'events',
      topic: `${run}.orders`,
      appId: `${run}-sub`,
      // File storage (the default), the stream created by the component; a short ackWait so what the
      // killed subscriber held comes again soon.
      resources: { 'events.yaml': componentYaml('events', 'pubsub.jetstream', { natsURL: `nats://127.0.0.1:${server.port}`, streamName: run, ackWait: '3s', maxAckPending: '200', concurrencyMode: 'parallel' }) },
      restartBroker: async () => {
        await server!.stop();
        await server!.start();
      },
    });
    expect(counts.acknowledged).toBe(N);
    expect(counts.lost).toEqual([]);
  }, 600_000);
});
