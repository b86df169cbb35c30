// The built sidecar's GetNextId through the real `layotto` Node SDK: ids as strings, WEAK (segment
// cache) and STRONG, biggerThan from the manifest, Layotto's codes and messages for bad input, and
// 4 concurrent clients on each of two sidecar processes sharing one store.
import type * as grpc from '@grpc/grpc-js';
import { rejection, uniqueRun } from '../helpers/lock-backends';
import { assertUniqueAndIncreasing, SEQUENCER_BACKENDS } from '../helpers/sequencer-backends';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Client } = require('layotto') as typeof import('layotto');
type SdkClient = InstanceType<typeof Client>;

const STORE = 'seqstore';
const WEAK = 0;
const STRONG = 1;
const UNKNOWN = 2;
const INVALID_ARGUMENT = 3;
const FAILED_PRECONDITION = 9;

for (const backend of SEQUENCER_BACKENDS) {
  describe(`Layotto GetNextId on ${backend.type}`, () => {
    let enabled = false;
    const sidecars: Sidecar[] = [];
    const clients: SdkClient[] = [];
    // A fresh keyPrefix per run: persistent stores keep counters between runs.
    const prefix = `seqsdk${uniqueRun().replace(/-/g, '')}`;
    const yaml = componentYaml(STORE, backend.type, { ...backend.metadata, keyPrefix: prefix, segmentStep: '5', 'biggerThan.migrated': '7000' });
    const start = async () => {
      const sc = await startSidecar({ resources: { 'seq.yaml': yaml } });
      sidecars.push(sc);
      return sc;
    };
    const connect = (sc: Sidecar) => {
      const c = new Client(String(sc.layottoPort), '127.0.0.1');
      clients.push(c);
      return c;
    };
    let client: SdkClient;

    beforeAll(async () => {
      enabled = await backend.reachable();
      if (enabled) client = connect(await start());
    });
    afterAll(async () => {
      for (const c of clients) c.close();
      await Promise.all(sidecars.map((s) => s.stop()));
    });

    const next = (c: SdkClient, key: string, increment?: number) =>
      c.sequencer.getNextId({ storeName: STORE, key, ...(increment === undefined ? {} : { options: { increment } }) });

    it('WEAK (default) and STRONG ids are decimal strings, unique and increasing', async () => {
      if (!enabled) return;
      const ids = [await next(client, 'k'), await next(client, 'k', WEAK), await next(client, 'k', STRONG), await next(client, 'k', STRONG)];
      expect(ids.every((id) => typeof id === 'string' && /^\d+$/.test(id))).toBe(true);
      // WEAK took segment 1..5; STRONG goes to the store and gets the ids after it. Without segments
      // (etcd, as in Layotto) WEAK goes to the store as well.
      expect(ids).toEqual(backend.segments ? ['1', '2', '6', '7'] : ['1', '2', '3', '4']);
      expect(await next(client, 'other', STRONG)).toBe('1');
    });

    it('biggerThan.<key> in the manifest: ids start above it', async () => {
      if (!enabled) return;
      expect(BigInt(await next(client, 'migrated', STRONG))).toBeGreaterThan(7000n);
    });

    it.each([
      ['an empty key', STORE, '', INVALID_ARGUMENT, `Key is empty in sequencer store ${STORE}`],
      ['an empty key on an unknown store (key checked first)', 'nope', '', INVALID_ARGUMENT, 'Key is empty in sequencer store nope'],
      ['an unknown store', 'nope', 'k', INVALID_ARGUMENT, 'Sequencer store nope not found'],
      ['|| in the key', STORE, 'a||b', UNKNOWN, "input key/keyPrefix 'a||b' can't contain '||'"],
    ])('refuses %s', async (_n, storeName, key, code, details) => {
      if (!enabled) return;
      const e = await rejection<grpc.ServiceError>(client.sequencer.getNextId({ storeName, key }));
      expect([e.code, e.details]).toEqual([code, details]);
    });

    if (backend.shared) {
      it.each([
        ['WEAK', WEAK],
        ['STRONG', STRONG],
      ])('%s: 4 concurrent clients on each of 2 sidecars: all ids unique, each client increasing', async (_n, increment) => {
        if (!enabled) return;
        const second = await start();
        const pool = [...[0, 1, 2, 3].map(() => connect(sidecars[0]!)), ...[0, 1, 2, 3].map(() => connect(second))];
        const key = `multi-${increment}`;
        const run = async (c: SdkClient) => {
          const ids: bigint[] = [];
          for (let i = 0; i < 25; i++) ids.push(BigInt(await next(c, key, increment)));
          return ids;
        };
        assertUniqueAndIncreasing(await Promise.all(pool.map(run)));
      }, 30_000);
    }
  });
}

describe('Layotto GetNextId without a sequencer store', () => {
  let sc: Sidecar;
  let client: SdkClient;
  beforeAll(async () => {
    sc = await startSidecar({ resources: {} });
    client = new Client(String(sc.layottoPort), '127.0.0.1');
  });
  afterAll(async () => {
    client.close();
    await sc.stop();
  });

  it('FAILED_PRECONDITION "Sequencer store is not configured", checked before the key', async () => {
    const e = await rejection<grpc.ServiceError>(client.sequencer.getNextId({ storeName: 'any', key: '' }));
    expect([e.code, e.details]).toEqual([FAILED_PRECONDITION, 'Sequencer store is not configured']);
  });
});
