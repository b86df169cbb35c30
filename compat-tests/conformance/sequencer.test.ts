// Sequencer conformance: every backend created through the registry and initialized like the
// runtime does, then checked for what Layotto promises (layotto.md §3.4): ids unique and
// increasing per key, also under concurrency and across two instances on one store, segments
// disjoint from single ids, and biggerThan honoured at init. etcd also gets Layotto's layout
// checked (id = the key's Version under keyPrefixPath, value empty until a biggerThan raise) and
// shares a counter with a Layotto-style writer.
import { Etcd3 } from 'etcd3';
import { registries } from '../../src/components/builtin';
import { sequencerKey } from '../../src/components/sequencer/metadata';
import type { SequencerStore } from '../../src/components/sequencer/types';
import type { ComponentMetadata } from '../../src/components/types';
import { assertUniqueAndIncreasing, SEQUENCER_BACKENDS } from '../helpers/sequencer-backends';

for (const backend of SEQUENCER_BACKENDS) {
  describe(backend.type, () => {
    let enabled = false;
    const opened: SequencerStore[] = [];
    // A fresh keyPrefix per run keeps runs (and parallel workers) off each other's counters.
    const run = `seqconf${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;
    const md = (extra: Record<string, string> = {}): ComponentMetadata => ({
      name: 'seq',
      type: backend.type,
      version: 'v1',
      properties: { ...backend.metadata, keyPrefix: run, ...extra },
      appId: 'conformance',
      namespace: '',
    });
    const key = (k: string) => sequencerKey(md(), k);
    const open = async (extra: Record<string, string> = {}): Promise<SequencerStore> => {
      const s = registries.sequencer.create(backend.type.replace(/^sequencer\./, ''))!;
      await s.init(md(extra));
      opened.push(s);
      return s;
    };
    let store: SequencerStore;

    beforeAll(async () => {
      enabled = await backend.reachable();
      if (enabled) store = await open();
    });
    afterAll(async () => {
      await Promise.all(opened.map((s) => s.close()));
    });

    it('ids per key start at 1 and increase by one; keys are independent', async () => {
      if (!enabled) return;
      const a = [];
      for (let i = 0; i < 5; i++) a.push(await store.getNextId({ key: key('seq-a'), metadata: {} }));
      expect(a).toEqual([1n, 2n, 3n, 4n, 5n]);
      expect(await store.getNextId({ key: key('seq-b'), metadata: {} })).toBe(1n);
    });

    it('segments are disjoint from each other and from single ids (a store without them has no getSegment)', async () => {
      if (!enabled) return;
      if (!backend.segments) return void expect(store.getSegment).toBeUndefined();
      const s1 = await store.getSegment!({ key: key('seg'), size: 10, metadata: {} });
      const one = await store.getNextId({ key: key('seg'), metadata: {} });
      const s2 = await store.getSegment!({ key: key('seg'), size: 3, metadata: {} });
      expect([s1, one, s2]).toEqual([{ from: 1n, to: 10n }, 11n, { from: 12n, to: 14n }]);
    });

    it('4 concurrent clients: every id unique, each client\'s sequence increasing', async () => {
      if (!enabled) return;
      const client = async () => {
        const ids: bigint[] = [];
        for (let i = 0; i < 50; i++) ids.push(await store.getNextId({ key: key('conc'), metadata: {} }));
        return ids;
      };
      const perClient = await Promise.all([client(), client(), client(), client()]);
      assertUniqueAndIncreasing(perClient);
      expect(perClient.flat().map(Number).sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    });

    it('biggerThan at init: ids start above it; it never lowers a counter', async () => {
      if (!enabled) return;
      const s = await open({ 'biggerThan.migrated': '5000' });
      expect(await s.getNextId({ key: key('migrated'), metadata: {} })).toBe(5001n);
      if (!backend.shared) return;
      // A second instance on the same store with a lower bound continues, a higher one jumps.
      const again = await open({ 'biggerThan.migrated': '10' });
      expect(await again.getNextId({ key: key('migrated'), metadata: {} })).toBe(5002n);
      const higher = await open({ 'biggerThan.migrated': '9000000000000000000' });
      expect(await higher.getNextId({ key: key('migrated'), metadata: {} })).toBe(9000000000000000001n); // beyond 2^53, exact
    });

    if (backend.shared) {
      it('two instances on one store (two sidecars) never hand out the same id', async () => {
        if (!enabled) return;
        const other = await open();
        const client = async (s: SequencerStore, segments: boolean) => {
          const ids: bigint[] = [];
          for (let i = 0; i < 30; i++) {
            if (segments && backend.segments) {
              const seg = await s.getSegment!({ key: key('two'), size: 4, metadata: {} });
              for (let id = seg.from; id <= seg.to; id++) ids.push(id);
            } else ids.push(await s.getNextId({ key: key('two'), metadata: {} }));
          }
          return ids;
        };
        assertUniqueAndIncreasing(await Promise.all([client(store, false), client(other, false), client(store, true), client(other, true)]));
      });

      it('init fails when the backend is unreachable', async () => {
        if (!enabled) return;
        const bad: Record<string, Record<string, string>> = {
          'sequencer.redis': { redisHost: '127.0.0.1:1', dialTimeout: '1s' },
          'sequencer.postgresql': { connectionString: 'host=127.0.0.1 port=1 user=postgres dbname=test', timeout: '2s' },
          'sequencer.mysql': { connectionString: 'root:@tcp(127.0.0.1:1)/test', timeout: '2s' },
          'sequencer.etcd': { endpoints: '127.0.0.1:1', dialTimeout: '2' },
        };
        const s = registries.sequencer.create(backend.type.replace(/^sequencer\./, ''))!;
        await expect(s.init({ ...md(), properties: bad[backend.type]! })).rejects.toThrow();
        await s.close();
      });
    }

    if (backend.type === 'sequencer.etcd') {
      it("etcd: Layotto's layout (id = Version of /layotto/<key>, empty value) and ids shared with Layotto's own txn", async () => {
        if (!enabled) return;
        const etcd = new Etcd3({ hosts: 'http://127.0.0.1:2379' });
        const path = `/layotto/${key('layout')}`;
        // Layotto's GetNextId: txn put(key, "") then get(key), the id is the Version.
        const layotto = async () => {
          const both = [etcd.put(path).value(''), etcd.get(path)];
          const res = await etcd.if(path, 'Create', '==', 0).then(...both).else(...both).commit();
          return BigInt(res.responses[1]!.response_range.kvs[0]!.version);
        };
        try {
          expect(await store.getNextId({ key: key('layout'), metadata: {} })).toBe(1n);
          const kv = (await etcd.get(path).exec()).kvs[0]!;
          expect([kv.version, kv.value.toString()]).toEqual(['1', '']);
          const ids = [await layotto(), await store.getNextId({ key: key('layout'), metadata: {} }), await layotto()];
          expect(ids).toEqual([2n, 3n, 4n]);
          // A raised counter keeps its offset as the value: Version + offset.
          await open({ 'biggerThan.raised': '100' });
          const raised = (await etcd.get(`/layotto/${key('raised')}`).exec()).kvs[0]!;
          expect(BigInt(raised.version) + BigInt(raised.value.toString())).toBe(100n);
        } finally {
          etcd.close();
        }
      });
    }
  });
}
