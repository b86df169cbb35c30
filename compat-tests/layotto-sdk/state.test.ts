// The built sidecar driven by the real Layotto Node.js SDK (`layotto` on npm) on its Layotto gRPC
// port: Hello and State on the in-memory store and, when Redis runs and state.redis is registered,
// on Redis with the same cases; plus a cross-API read of the same bytes over Dapr HTTP.
import { registered, STATE_BACKENDS as BACKENDS } from '../helpers/backends';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Client } = require('layotto') as typeof import('layotto');

const STORE = 'statestore';
const run = `${Date.now().toString(36)}-${process.pid}`;
const ABORTED = 10;
const INVALID_ARGUMENT = 3;

async function rejection(p: Promise<unknown>): Promise<{ code?: number; details?: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code?: number; details?: string };
  }
  throw new Error('expected the call to fail');
}

const text = (v: Uint8Array | undefined) => Buffer.from(v ?? []).toString('utf8');

for (const backend of BACKENDS) {
  (registered(backend.type) ? describe : describe.skip)(`Layotto SDK against the sidecar on ${backend.type}`, () => {
    let enabled = false;
    let sc: Sidecar;
    let client: InstanceType<typeof Client>;
    const k = (name: string) => `layotto-${backend.type}-${name}-${run}`;

    beforeAll(async () => {
      enabled = await backend.reachable();
      if (!enabled) return;
      sc = await startSidecar({
        resources: {
          'state.yaml': componentYaml(STORE, backend.type, backend.metadata),
          'hello.yaml': componentYaml('helloworld', 'hello.helloworld', { hello: 'greeting' }),
        },
      });
      client = new Client(String(sc.layottoPort), '127.0.0.1');
    });

    afterAll(async () => {
      if (!enabled) return;
      client.close();
      await sc.stop();
    });

    it('says hello through the hello.helloworld component', async () => {
      if (!enabled) return;
      expect(await client.hello.sayHello({ serviceName: 'helloworld', name: 'layotto' })).toBe('greeting, layotto');
      expect(await client.hello.sayHello()).toBe('greeting');
    });

    it('saves and gets strings and raw bytes; a missing key is null', async () => {
      if (!enabled) return;
      const bytes = Uint8Array.from([0, 0xff, 0xfe, 0x7b, 10]);
      await client.state.save({ storeName: STORE, states: [{ key: k('s'), value: 'hello' }, { key: k('b'), value: bytes }] });
      expect(text((await client.state.get({ storeName: STORE, key: k('s') }))?.value)).toBe('hello');
      const got = await client.state.get({ storeName: STORE, key: k('b') });
      expect(Buffer.from(got!.value)).toEqual(Buffer.from(bytes));
      expect(got!.etag).not.toBe('');
      expect(await client.state.get({ storeName: STORE, key: k('never-saved') })).toBeNull();
    });

    it('bulk-gets, deletes and bulk-deletes', async () => {
      if (!enabled) return;
      await client.state.save({ storeName: STORE, states: [1, 2, 3].map((i) => ({ key: k(`m${i}`), value: `v${i}` })) });
      const items = await client.state.getBulk({ storeName: STORE, keys: [k('m1'), k('m2'), k('m3'), k('m-none')] });
      expect(items.map((i) => [i.key, text(i.value)]).sort()).toEqual([
        [k('m1'), 'v1'],
        [k('m2'), 'v2'],
        [k('m3'), 'v3'],
      ]);
      await client.state.delete({ storeName: STORE, key: k('m1') });
      expect(await client.state.get({ storeName: STORE, key: k('m1') })).toBeNull();
      await client.state.deleteBulk({ storeName: STORE, states: [{ key: k('m2') }, { key: k('m3') }] });
      expect(await client.state.getBulk({ storeName: STORE, keys: [k('m2'), k('m3')] })).toEqual([]);
    });

    it('runs a transaction of upserts and deletes', async () => {
      if (!enabled) return;
      await client.state.save({ storeName: STORE, states: { key: k('t-old'), value: 'old' } });
      await client.state.executeTransaction({
        storeName: STORE,
        operations: [
          { operationType: 'upsert' as never, request: { key: k('t-a'), value: 'A' } },
          { operationType: 'upsert' as never, request: { key: k('t-b'), value: 'B' } },
          { operationType: 'delete' as never, request: { key: k('t-old') } },
        ],
      });
      expect(text((await client.state.get({ storeName: STORE, key: k('t-a') }))?.value)).toBe('A');
      expect(text((await client.state.get({ storeName: STORE, key: k('t-b') }))?.value)).toBe('B');
      expect(await client.state.get({ storeName: STORE, key: k('t-old') })).toBeNull();
    });

    it('enforces etags: the current one wins, a stale one is Aborted, and none (SDK "0") overwrites', async () => {
      if (!enabled) return;
      await client.state.save({ storeName: STORE, states: { key: k('e'), value: 'one' } });
      const first = await client.state.get({ storeName: STORE, key: k('e') });
      await client.state.save({ storeName: STORE, states: { key: k('e'), value: 'two', etag: first!.etag } });
      const stale = await rejection(client.state.save({ storeName: STORE, states: { key: k('e'), value: 'x', etag: first!.etag } }));
      expect(stale.code).toBe(ABORTED);
      expect(stale.details).toMatch(/^failed saving state in state store statestore: /);
      const staleDelete = await rejection(client.state.delete({ storeName: STORE, key: k('e'), etag: first!.etag }));
      expect(staleDelete.code).toBe(ABORTED);
      await client.state.save({ storeName: STORE, states: { key: k('e'), value: 'three' } });
      expect(text((await client.state.get({ storeName: STORE, key: k('e') }))?.value)).toBe('three');
    });

    it('answers InvalidArgument for an unknown store', async () => {
      if (!enabled) return;
      const e = await rejection(client.state.get({ storeName: 'nope', key: k('x') }));
      expect([e.code, e.details]).toEqual([INVALID_ARGUMENT, 'state store nope is not found']);
    });

    it('a value saved with the Layotto SDK reads back byte-identical over Dapr HTTP', async () => {
      if (!enabled) return;
      const bytes = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x31, 0x7d, 0xff, 0x00]);
      await client.state.save({ storeName: STORE, states: { key: k('cross'), value: bytes } });
      const r = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/state/${STORE}/${encodeURIComponent(k('cross'))}`);
      expect(r.status).toBe(200);
      expect(Buffer.from(await r.arrayBuffer())).toEqual(bytes);
      expect(r.headers.get('etag')).toBe((await client.state.get({ storeName: STORE, key: k('cross') }))!.etag);
    });
  });
}
