// The built sidecar driven by the real @dapr/dapr SDK over gRPC (ConnectRPC, not grpc-js), on the
// in-memory store and, when Redis runs and state.redis is registered, on Redis with the same cases.
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr';
import { registered, STATE_BACKENDS as BACKENDS } from '../helpers/backends';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';

const STORE = 'statestore';
const run = `${Date.now().toString(36)}-${process.pid}`;

/** The SDK rejects with a ConnectError whose `code` is the gRPC status code. */
async function rejection(p: Promise<unknown>): Promise<{ code?: number; rawMessage?: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code?: number; rawMessage?: string; message: string };
  }
  throw new Error('expected the call to fail');
}

const ABORTED = 10;

for (const backend of BACKENDS) {
  (registered(backend.type) ? describe : describe.skip)(`Dapr gRPC state via @dapr/dapr SDK on ${backend.type}`, () => {
    let enabled = false;
    let sc: Sidecar;
    let client: DaprClient;
    const k = (name: string) => `grpc-${backend.type}-${name}-${run}`;

    beforeAll(async () => {
      enabled = await backend.reachable();
      if (!enabled) return;
      sc = await startSidecar({ resources: { 'state.yaml': componentYaml(STORE, backend.type, backend.metadata) } });
      client = new DaprClient({
        daprHost: '127.0.0.1',
        daprPort: String(sc.grpcPort),
        communicationProtocol: CommunicationProtocolEnum.GRPC,
        logger: { level: LogLevel.Error },
      });
      await client.start();
    });

    afterAll(async () => {
      if (!enabled) return;
      await client.stop().catch(() => undefined);
      await sc.stop();
    });

    it('save and get: objects come back as JSON, strings and numbers as sent', async () => {
      if (!enabled) return;
      await client.state.save(STORE, [
        { key: k('obj'), value: { name: 'ada', n: [1, 2] } },
        { key: k('str'), value: 'plain text' },
        { key: k('num'), value: 42 },
      ]);
      expect(await client.state.get(STORE, k('obj'))).toEqual({ name: 'ada', n: [1, 2] });
      expect(await client.state.get(STORE, k('str'))).toBe('plain text');
      expect(await client.state.get(STORE, k('num'))).toBe(42);
      expect(await client.state.get(STORE, k('never-saved'))).toBe('');
    });

    it('a value saved over gRPC reads back byte for byte over HTTP GET /v1.0/state', async () => {
      if (!enabled) return;
      await client.state.save(STORE, [
        { key: k('x-obj'), value: { a: 1, s: 'é' } },
        { key: k('x-str'), value: 'not json' },
      ]);
      const obj = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/state/${STORE}/${k('x-obj')}`);
      expect(obj.status).toBe(200);
      // The SDK sends JSON.stringify(value) as the bytes; gRPC stores them verbatim.
      expect(Buffer.from(await obj.arrayBuffer()).toString('utf8')).toBe(JSON.stringify({ a: 1, s: 'é' }));
      expect(obj.headers.get('etag')).toBeTruthy();
      const str = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/state/${STORE}/${k('x-str')}`);
      expect(await str.text()).toBe('not json');
    });

    it('delete removes the key', async () => {
      if (!enabled) return;
      await client.state.save(STORE, [{ key: k('del'), value: 'bye' }]);
      await client.state.delete(STORE, k('del'));
      expect(await client.state.get(STORE, k('del'))).toBe('');
    });

    it('getBulk returns every key with data and etag; missing keys empty', async () => {
      if (!enabled) return;
      await client.state.save(STORE, [
        { key: k('b1'), value: { v: 1 } },
        { key: k('b2'), value: 'two' },
      ]);
      const items = await client.state.getBulk(STORE, [k('b1'), k('b2'), k('b-missing')]);
      const byKey = Object.fromEntries(items.map((i) => [i.key, i]));
      expect(byKey[k('b1')]!.data).toEqual({ v: 1 });
      expect(byKey[k('b2')]!.data).toBe('two');
      expect(byKey[k('b1')]!.etag).toBeTruthy();
      expect(byKey[k('b-missing')]!.data).toBe('');
    });

    it('transaction applies upserts and deletes', async () => {
      if (!enabled) return;
      await client.state.save(STORE, [{ key: k('t-old'), value: 'old' }]);
      await client.state.transaction(STORE, [
        { operation: 'upsert', request: { key: k('t-new'), value: 'new' } },
        { operation: 'delete', request: { key: k('t-old') } },
      ]);
      expect(await client.state.get(STORE, k('t-new'))).toBe('new');
      expect(await client.state.get(STORE, k('t-old'))).toBe('');
    });

    it('etag conflict: a stale etag is ABORTED on save and delete; the current etag succeeds', async () => {
      if (!enabled) return;
      await client.state.save(STORE, [{ key: k('etag'), value: 'v1' }]);
      const [first] = await client.state.getBulk(STORE, [k('etag')]);
      const etag1 = first!.etag!;
      await client.state.save(STORE, [{ key: k('etag'), value: 'v2', etag: etag1 }]);
      const stale = await rejection(client.state.save(STORE, [{ key: k('etag'), value: 'v3', etag: etag1 }]));
      expect(stale.code).toBe(ABORTED);
      expect(stale.rawMessage ?? stale.message).toContain(`failed saving state in state store ${STORE}`);
      const staleDelete = await rejection(client.state.delete(STORE, k('etag'), { etag: etag1 }));
      expect(staleDelete.code).toBe(ABORTED);
      expect(await client.state.get(STORE, k('etag'))).toBe('v2');
      const [second] = await client.state.getBulk(STORE, [k('etag')]);
      await client.state.delete(STORE, k('etag'), { etag: second!.etag! });
      expect(await client.state.get(STORE, k('etag'))).toBe('');
    });

    it('TTL: metadata ttlInSeconds makes the key expire', async () => {
      if (!enabled) return;
      await client.state.save(STORE, [{ key: k('ttl'), value: 'short-lived' }], { metadata: { ttlInSeconds: '1' } });
      expect(await client.state.get(STORE, k('ttl'))).toBe('short-lived');
      await new Promise((r) => setTimeout(r, 2100));
      expect(await client.state.get(STORE, k('ttl'))).toBe('');
    });

    it('an unknown store is refused with INVALID_ARGUMENT (3), and the sidecar keeps serving', async () => {
      if (!enabled) return;
      const e = await rejection(client.state.get('no-such-store', k('x')));
      expect(e.code).toBe(3);
      expect(e.rawMessage ?? e.message).toContain('state store no-such-store is not found');
      expect(await client.health.isHealthy()).toBe(true);
    });

    it('metadata: get lists the store; set adds extended metadata', async () => {
      if (!enabled) return;
      const md = await client.metadata.get();
      expect(md.id).toBe('compat-app');
      const comp = md.components.find((c) => c.name === STORE);
      expect(comp).toEqual(expect.objectContaining({ type: backend.type, version: 'v1' }));
      expect(comp!.capabilities).toEqual(expect.arrayContaining(['ETAG', 'TRANSACTIONAL']));
      expect(md.extended.daprRuntimeVersion).toBeTruthy();
      expect(await client.metadata.set('testKey', `v-${run}`)).toBe(true);
      expect((await client.metadata.get()).extended.testKey).toBe(`v-${run}`);
    });

    it('shutdown answers and the sidecar exits', async () => {
      if (!enabled) return;
      await client.sidecar.shutdown();
      expect(await sc.exited).toBe(0);
    });
  });
}
