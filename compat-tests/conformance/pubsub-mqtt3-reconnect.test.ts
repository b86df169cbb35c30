// pubsub.mqtt3 against a Mosquitto of the test's own (free port, no persistence), so it can be
// killed without disturbing the shared one on 1883:
// - the broker dies and comes back on the same port: the component reconnects by itself,
//   subscribes again (the restarted broker lost the session) and gets what is published after,
//   with no crash and no unhandled rejection;
// - PUBACK only after the handler resolved: a message whose handler never finished comes again to
//   the next instance with the same consumerID (persistent session);
// - a connection drop while a handler runs: the broker's resent copy is not handled twice;
// - what is published while that instance is away waits for it and is delivered once it
//   subscribes again, and so does what comes for a subscription closed with
//   unsubscribeOnClose=false;
// - init fails with a clear error when the broker is down.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'mqtt';
import { registries } from '../../src/components/builtin';
import type { PubSub, PubSubMessage } from '../../src/components/pubsub/types';
import { sleep, until } from '../../test/wait';
import { findBinary, PrivateServer } from '../helpers/private-server';
import { freePort } from '../helpers/sidecar';

/** One Mosquitto process on a fixed port, no persistence; start() again after kill() to bring it back. */
class PrivateMosquitto extends PrivateServer {
  constructor(binary: string, port: number) {
    super({ name: 'mosquitto', binary, port, args: (dir) => ['-c', join(dir, 'mosquitto.conf')] });
    writeFileSync(join(this.dir, 'mosquitto.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  }
}

describe('pubsub.mqtt3: broker restart and persistent sessions', () => {
  const binary = findBinary('mosquitto', 'the mqtt3 reconnect tests');
  let broker: PrivateMosquitto | undefined;
  const run = `mq3-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const open: PubSub[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => void unhandled.push(e);

  const create = async (consumerID: string): Promise<PubSub> => {
    const ps = registries.pubsub.create('mqtt3')!;
    open.push(ps);
    await ps.init({
      name: 'mqtt',
      type: 'pubsub.mqtt3',
      version: 'v1',
      appId: 'reconnect',
      namespace: '',
      properties: { url: `tcp://127.0.0.1:${broker!.port}`, consumerID, backOffDuration: '200ms' },
    });
    return ps;
  };
  const test = (name: string, fn: () => Promise<void>) => it(name, () => (broker ? fn() : Promise.resolve()), 30000);

  beforeAll(async () => {
    if (!binary) return;
    process.on('unhandledRejection', onUnhandled);
    broker = new PrivateMosquitto(binary, await freePort());
    await broker.start();
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    for (const ps of open) await ps.close();
    await broker?.remove();
  });

  afterEach(() => expect(unhandled).toEqual([]));

  test('reconnects after the broker restarts and receives what is published after', async () => {
    const ps = await create(`${run}-restart`);
    const topic = `${run}/restart`;
    const got: string[] = [];
    await ps.subscribe({ topic, metadata: {} }, async (m) => void got.push(m.data.toString()));
    await ps.publish({ topic, data: Buffer.from('before'), metadata: {} });
    await until(() => got.includes('before'), () => got.join(','));

    await broker!.kill();
    await sleep(1500); // a reconnect attempt or two fail meanwhile
    await broker!.start();

    // The resubscription lands shortly after the reconnect; publish until one gets through.
    for (let i = 0; !got.some((b) => b.startsWith('after-')); i++) {
      if (i > 50) throw new Error(`nothing received after the restart: ${got.join(',')}`);
      await ps.publish({ topic, data: Buffer.from(`after-${i}`), metadata: {} }).catch(() => undefined);
      await sleep(200);
    }
    await ps.publish({ topic, data: Buffer.from('last'), metadata: {} });
    await until(() => got.includes('last'), () => got.join(','));
  });

  test('a message whose handler never finished comes again to the next instance', async () => {
    const consumerID = `${run}-unacked`;
    const topic = `${run}/unacked`;
    const first = await create(consumerID);
    let started = 0;
    // Never resolves: the message is never acknowledged.
    await first.subscribe({ topic, metadata: {} }, () => {
      started++;
      return new Promise<void>(() => undefined);
    });
    await first.publish({ topic, data: Buffer.from('stuck'), metadata: {} });
    await until(() => started === 1, () => `${started} deliveries`);
    await first.close();

    const second = await create(consumerID);
    const got: PubSubMessage[] = [];
    await second.subscribe({ topic, metadata: {} }, async (m) => void got.push(m));
    await until(() => got.length === 1, () => `${got.length} received`);
    expect(got[0]!.data.toString()).toBe('stuck');
    expect(got[0]!.topic).toBe(topic);
  });

  test('a connection drop while a handler runs: the resent copy is not handled twice, and is acked', async () => {
    const consumerID = `${run}-blip`;
    const topic = `${run}/blip`;
    const ps = await create(consumerID);
    let calls = 0;
    let release = () => undefined as void;
    const gate = new Promise<void>((r) => (release = r));
    await ps.subscribe({ topic, metadata: {} }, async () => {
      calls++;
      await gate;
    });
    await ps.publish({ topic, data: Buffer.from('slow'), metadata: {} });
    await until(() => calls === 1, () => `${calls} calls`);

    // Another client taking the session over makes the broker drop ours; it leaves at once without
    // acking, so the component reconnects, resumes the session and the broker resends 'slow'.
    const intruder = connect({ host: '127.0.0.1', port: broker!.port, clientId: consumerID, clean: false, protocolVersion: 4, reconnectPeriod: 0 });
    intruder.handleMessage = () => undefined;
    intruder.on('error', () => undefined);
    await new Promise((r) => intruder.once('connect', r));
    intruder.end(true);
    await sleep(2000);
    release();
    await sleep(300);
    expect(calls).toBe(1);
    await ps.close();

    // Acked: the next instance of the session gets nothing.
    const next = await create(consumerID);
    const got: string[] = [];
    await next.subscribe({ topic, metadata: {} }, async (m) => void got.push(m.data.toString()));
    await sleep(1000);
    expect(got).toEqual([]);
  });

  test('what is published while an instance is away is delivered when it subscribes again', async () => {
    const consumerID = `${run}-away`;
    const topic = `${run}/away/+`;
    const first = await create(consumerID);
    await first.subscribe({ topic, metadata: {} }, async () => undefined);
    await first.close();

    const publisher = await create(`${run}-publisher`);
    for (const t of ['a', 'b', 'c']) await publisher.publish({ topic: `${run}/away/${t}`, data: Buffer.from(t), metadata: {} });

    const second = await create(consumerID);
    await sleep(300); // the broker's backlog arrives before the subscription exists, and waits
    const got: string[] = [];
    await second.subscribe({ topic, metadata: {} }, async (m) => void got.push(m.topic));
    await until(() => got.length === 3, () => got.join(','));
    expect(got.sort()).toEqual([`${run}/away/a`, `${run}/away/b`, `${run}/away/c`]);
  });

  test('unsubscribeOnClose=false keeps the broker subscription: what comes meanwhile waits', async () => {
    const ps = await create(`${run}-keep`);
    const topic = `${run}/keep`;
    const keep = { unsubscribeOnClose: 'false' };
    const first = await ps.subscribe({ topic, metadata: keep }, async () => undefined);
    await first.close();
    await ps.publish({ topic, data: Buffer.from('meanwhile'), metadata: {} });
    await sleep(300);
    const got: string[] = [];
    await ps.subscribe({ topic, metadata: keep }, async (m) => void got.push(m.data.toString()));
    await until(() => got.length === 1, () => got.join(','));
    expect(got).toEqual(['meanwhile']);
  });

  test('init fails with a clear error when the broker is down', async () => {
    const ps = registries.pubsub.create('mqtt3')!;
    const port = await freePort();
    const init = ps.init({ name: 'down', type: 'pubsub.mqtt3', version: 'v1', appId: 'x', namespace: '', properties: { url: `tcp://127.0.0.1:${port}`, consumerID: `${run}-down` } });
    await expect(init).rejects.toThrow(`mqtt3: error connecting to mqtt://127.0.0.1:${port}`);
    await ps.close();
  });
});
