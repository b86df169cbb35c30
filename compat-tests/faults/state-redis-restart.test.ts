// State writes across a Redis restart, through one sidecar that is never restarted: a private
// redis-server (own port and dir; appendonly yes + appendfsync always, so a reply means the write
// is on disk) behind state.redis. 2,000 keys are written through the Dapr HTTP API by 16 writers;
// when about half are acknowledged the server is stopped (SIGTERM) and started again on the same
// port and dir while the writers go on. A write that fails meanwhile (ERR_STATE_SAVE, never a hang
// or a crash) is retried by its writer, as an app would. Afterwards every acknowledged write is
// read back through the same sidecar, with the value it was acknowledged with.
import { findBinary, PrivateServer } from '../helpers/private-server';
import { componentYaml, freePort, type Sidecar, startSidecar } from '../helpers/sidecar';
import { sleep, until } from '../../test/wait';

const N = 2000;
const WRITERS = 16;
const STORE = 'durable';

describe('state.redis: acknowledged writes survive a Redis restart', () => {
  const binary = findBinary('redis-server', 'the state.redis restart test');
  let redis: PrivateServer | undefined;
  let sc: Sidecar | undefined;
  const run = `srr-${Date.now().toString(36)}`;

  beforeAll(async () => {
    if (!binary) return;
    const port = await freePort();
    redis = new PrivateServer({
      name: 'redis-server',
      binary,
      port,
      args: (dir) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir],
    });
    await redis.start();
    sc = await startSidecar({ resources: { 'store.yaml': componentYaml(STORE, 'state.redis', { redisHost: `127.0.0.1:${port}` }) } });
  }, 60_000);

  afterAll(async () => {
    await sc?.stop();
    await redis?.remove();
  });

  it('every acknowledged write is readable after the restart, without restarting the sidecar', async () => {
    if (!sc || !redis) return;
    const base = `http://127.0.0.1:${sc.httpPort}/v1.0/state/${STORE}`;
    const key = (i: number) => `${run}-${i}`;
    /** The value each key was last acknowledged with. */
    const acked = new Map<string, string>();
    const failures = new Map<string, number>();
    let outage = false;
    let next = 0;

    const write = async (i: number): Promise<void> => {
      for (let attempt = 1; ; attempt++) {
        const value = `v${i}-${attempt}`;
        const r = await fetch(base, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify([{ key: key(i), value }]),
          signal: AbortSignal.timeout(30_000),
        });
        if (r.status === 204) return void acked.set(key(i), value);
        const body = (await r.json()) as { errorCode: string; message: string };
        // Only while the server is away, and only as Dapr's state save error.
        expect({ status: r.status, code: body.errorCode, outage }).toEqual({ status: 500, code: 'ERR_STATE_SAVE', outage: true });
        failures.set(body.message.replace(/\d+/g, 'N'), (failures.get(body.message.replace(/\d+/g, 'N')) ?? 0) + 1);
        await sleep(100);
      }
    };
    const writers = Array.from({ length: WRITERS }, async () => {
      while (next < N) await write(next++);
    });

    await until(() => acked.size >= N / 2, () => `${acked.size} acknowledged`, 60_000);
    const ackedBefore = new Map(acked);
    outage = true;
    await redis.stop();
    await sleep(1000); // writes fail meanwhile
    await redis.start();
    await until(async () => (await fetch(`${base}/${key(0)}`)).status === 200, () => 'the sidecar to reach Redis again', 30_000);
    outage = false;
    await Promise.all(writers);

    // Read back through the same sidecar, 100 keys per bulk request.
    const keys = Array.from({ length: N }, (_, i) => key(i));
    const read = new Map<string, string>();
    for (let i = 0; i < keys.length; i += 100) {
      const r = await fetch(`${base}/bulk`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ keys: keys.slice(i, i + 100) }) });
      expect(r.status).toBe(200);
      for (const item of (await r.json()) as { key: string; data?: string }[]) if (item.data !== undefined) read.set(item.key, item.data);
    }
    const lost = [...acked].filter(([k, v]) => read.get(k) !== v).map(([k]) => k);
    const lostBefore = [...ackedBefore].filter(([k]) => !read.has(k)).length;
    const failed = [...failures.values()].reduce((a, b) => a + b, 0);
    process.stdout.write(
      `state.redis across a Redis restart: written ${N}, acknowledged ${acked.size} (${ackedBefore.size} before the restart), ` +
        `failed and retried ${failed}, readable after ${[...acked.keys()].filter((k) => read.has(k)).length}, lost ${lost.length} (of those acknowledged before: ${lostBefore})\n` +
        [...failures].map(([m, n]) => `  ${n} x ${m}\n`).join(''),
    );
    expect(acked.size).toBe(N);
    expect(lost).toEqual([]);
    expect(sc.proc.exitCode).toBeNull();
  }, 180_000);
});
