// Pub/sub conformance suite (after components-contrib tests/conformance/pubsub/pubsub.go, dapr.md
// §8.2): every broker in config/pubsub/tests.yml is created through the registry with its real
// manifest and checked for: publish/subscribe, redelivery after simulated handler failures
// (the first two deliveries and every 5th fail), multiple handlers on two topics, stopping one
// subscriber while the other goes on, and the operations it claims (order, competing consumers,
// fan-out across consumer ids, native bulk publish, wildcards).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { registries } from '../../src/components/builtin';
import { withConsumerId } from '../../src/components/pubsub/metadata';
import { isBulkPublisher, PubSubFeature, type PubSub, type PubSubMessage, type Subscription } from '../../src/components/pubsub/types';
import type { ComponentMetadata } from '../../src/components/types';
import { requireService } from '../../test/services';
import { sleep, until } from '../../test/wait';

const CONFIG = join(__dirname, '..', 'config', 'pubsub');
const MESSAGES = 10;
const MAX_READ_MS = 20000;

interface Entry {
  component: string;
  service?: { name: string; host: string; port: number };
  operations?: string[];
}

interface Manifest {
  metadata: { name: string };
  spec: { type: string; version?: string; metadata?: { name: string; value: string }[] };
}

const matrix = parse(readFileSync(join(CONFIG, 'tests.yml'), 'utf8')) as { components: Entry[] };

function loadManifest(e: Entry, overrides: Record<string, string> = {}): ComponentMetadata {
  const m = parse(readFileSync(join(CONFIG, e.component, 'pubsub.yaml'), 'utf8')) as Manifest;
  const properties = withConsumerId({ ...Object.fromEntries((m.spec.metadata ?? []).map((x) => [x.name, String(x.value)])), ...overrides }, { appId: 'conformance', namespace: '' });
  return { name: m.metadata.name, type: m.spec.type, version: m.spec.version ?? 'v1', properties, appId: 'conformance', namespace: '' };
}

async function create(e: Entry, overrides?: Record<string, string>): Promise<PubSub> {
  const md = loadManifest(e, overrides);
  const reg = registries.pubsub.find(md.type.replace(/^pubsub\./, ''), md.version);
  if (!reg) throw new Error(`${md.type}/${md.version} is not registered`);
  const ps = reg.factory();
  await ps.init(md);
  return ps;
}

const text = (m: PubSubMessage) => m.data.toString('utf8');

for (const entry of matrix.components) {
  const claims = new Set(entry.operations ?? []);
  const claim = (op: string) => (claims.has(op) ? it : it.skip);

  describe(`pubsub.${entry.component}`, () => {
    let ps: PubSub;
    let ready = false;
    const run = `psconf-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const topic = (t: string) => `${run}-${t}`;
    const opened: Subscription[] = [];
    const extra: PubSub[] = [];

    const check = (name: string, fn: () => Promise<void>, timeout = 60000) =>
      it(name, async () => {
        if (ready) await fn();
      }, timeout);
    const claimed = (op: string, name: string, fn: () => Promise<void>, timeout = 60000) =>
      claim(op)(name, async () => {
        if (ready) await fn();
      }, timeout);

    beforeAll(async () => {
      if (entry.service && !(await requireService(entry.service.name, entry.service.host, entry.service.port))) return;
      ps = await create(entry);
      ready = true;
    }, 30000);

    afterAll(async () => {
      for (const s of opened) await s.close().catch(() => undefined);
      for (const p of extra) await p.close().catch(() => undefined);
      if (ready) await ps.close();
    }, 30000);

    const subscribe = async (p: PubSub, t: string, handler: (m: PubSubMessage) => Promise<void>, metadata: Record<string, string> = {}) => {
      const s = await p.subscribe({ topic: t, metadata }, handler);
      opened.push(s);
      return s;
    };

    check('features are declared and implemented together', async () => {
      expect(ps.features().includes(PubSubFeature.BULK_PUBLISH)).toBe(isBulkPublisher(ps));
      expect(ps.features().includes(PubSubFeature.SUBSCRIBE_WILDCARDS)).toBe(claims.has('wildcards'));
    });

    check('subscribe, publish, redelivery after failures, every message received', async () => {
      const t = topic('main');
      const attempts = new Map<string, number>();
      const received: string[] = [];
      const firstOrder: string[] = [];
      let deliveries = 0;
      await subscribe(ps, t, async (m) => {
        const body = text(m);
        expect(m.topic).toBe(t);
        const n = (attempts.get(body) ?? 0) + 1;
        attempts.set(body, n);
        if (n === 1) firstOrder.push(body);
        deliveries++;
        // The first two deliveries fail, and then every 5th.
        if (deliveries <= 2 || deliveries % 5 === 0) throw new Error('simulated failure');
        if (!received.includes(body)) received.push(body);
      });
      const sent = Array.from({ length: MESSAGES }, (_, i) => `msg-${i}`);
      for (const body of sent) await ps.publish({ topic: t, data: Buffer.from(body), contentType: 'text/plain', metadata: {} });
      await until(() => received.length === MESSAGES, () => `${received.length}/${MESSAGES} received: ${received.join(',')}`, MAX_READ_MS);
      expect([...received].sort()).toEqual([...sent].sort());
      // The failed ones came again.
      expect([...attempts.values()].some((n) => n > 1)).toBe(true);
      if (claims.has('in-order')) expect(firstOrder).toEqual(sent);
    });

    check('multiple handlers: each topic gets exactly its own messages', async () => {
      const [a, b] = [topic('multi-a'), topic('multi-b')];
      const got: Record<string, string[]> = { [a]: [], [b]: [] };
      await subscribe(ps, a, async (m) => void got[a]!.push(text(m)));
      await subscribe(ps, b, async (m) => void got[b]!.push(text(m)));
      for (let i = 0; i < 5; i++) {
        await ps.publish({ topic: a, data: Buffer.from(`a${i}`), metadata: {} });
        await ps.publish({ topic: b, data: Buffer.from(`b${i}`), metadata: {} });
      }
      await until(() => got[a]!.length >= 5 && got[b]!.length >= 5, () => JSON.stringify(got), MAX_READ_MS);
      await sleep(300);
      expect(new Set(got[a])).toEqual(new Set(['a0', 'a1', 'a2', 'a3', 'a4']));
      expect(new Set(got[b])).toEqual(new Set(['b0', 'b1', 'b2', 'b3', 'b4']));
    });

    check('stopping one subscriber stops its topic only', async () => {
      const [a, b] = [topic('stop-a'), topic('stop-b')];
      const got: Record<string, string[]> = { [a]: [], [b]: [] };
      const sa = await subscribe(ps, a, async (m) => void got[a]!.push(text(m)));
      await subscribe(ps, b, async (m) => void got[b]!.push(text(m)));
      await ps.publish({ topic: a, data: Buffer.from('a-before'), metadata: {} });
      await until(() => got[a]!.length === 1, () => JSON.stringify(got), MAX_READ_MS);
      await sa.close();
      await ps.publish({ topic: a, data: Buffer.from('a-after'), metadata: {} });
      await ps.publish({ topic: b, data: Buffer.from('b-after'), metadata: {} });
      await until(() => got[b]!.length === 1, () => JSON.stringify(got), MAX_READ_MS);
      await sleep(500);
      expect(got[a]).toEqual(['a-before']);
      expect(got[b]).toEqual(['b-after']);
    });

    check('metadata and content type reach the subscriber as the broker carries them', async () => {
      const t = topic('meta');
      const got: PubSubMessage[] = [];
      await subscribe(ps, t, async (m) => void got.push(m));
      const payload = Buffer.from(JSON.stringify({ specversion: '1.0', id: '1', data: 'x' }));
      await ps.publish({ topic: t, data: payload, contentType: 'application/cloudevents+json', metadata: {} });
      await until(() => got.length === 1, () => `${got.length} received`, MAX_READ_MS);
      expect(got[0]!.data.equals(payload)).toBe(true);
    });

    claimed('competing', 'two instances with one consumerID share the messages', async () => {
      const t = topic('compete');
      const other = await create(entry);
      extra.push(other);
      const seen: string[][] = [[], []];
      await subscribe(ps, t, async (m) => void seen[0]!.push(text(m)));
      await subscribe(other, t, async (m) => void seen[1]!.push(text(m)));
      await sleep(300);
      for (let i = 0; i < 20; i++) await ps.publish({ topic: t, data: Buffer.from(`c${i}`), metadata: {} });
      await until(() => new Set([...seen[0]!, ...seen[1]!]).size === 20, () => JSON.stringify(seen), MAX_READ_MS);
      await sleep(500);
      const all = [...seen[0]!, ...seen[1]!];
      expect(all.length).toBe(20);
      expect(new Set(all).size).toBe(20);
    });

    claimed('fan-out', 'two consumerIDs each get every message', async () => {
      const t = topic('fanout');
      const other = await create(entry, { consumerID: `${run}-other` });
      extra.push(other);
      const seen: string[][] = [[], []];
      await subscribe(ps, t, async (m) => void seen[0]!.push(text(m)));
      await subscribe(other, t, async (m) => void seen[1]!.push(text(m)));
      await sleep(300);
      for (let i = 0; i < 5; i++) await ps.publish({ topic: t, data: Buffer.from(`f${i}`), metadata: {} });
      await until(() => seen[0]!.length >= 5 && seen[1]!.length >= 5, () => JSON.stringify(seen), MAX_READ_MS);
      expect(new Set(seen[0])).toEqual(new Set(seen[1]));
    });

    claimed('bulk-publish', 'bulk publish delivers every entry', async () => {
      if (!isBulkPublisher(ps)) throw new Error('claims bulk-publish without bulkPublish()');
      const t = topic('bulk');
      const got: string[] = [];
      await subscribe(ps, t, async (m) => void got.push(text(m)));
      const entries = Array.from({ length: 5 }, (_, i) => ({ entryId: String(i), data: Buffer.from(`bulk${i}`), contentType: 'text/plain', metadata: {} }));
      const res = await ps.bulkPublish({ topic: t, entries, metadata: {} });
      expect(res.failedEntries).toEqual([]);
      await until(() => got.length === 5, () => got.join(','), MAX_READ_MS);
    });

    claimed('wildcards', 'a wildcard subscription gets the matching topics', async () => {
      const got: string[] = [];
      await subscribe(ps, `${run}/wild/+/x`, async (m) => void got.push(m.topic));
      await subscribe(ps, `${run}/deep/#`, async (m) => void got.push(m.topic));
      await sleep(300);
      for (const t of [`${run}/wild/a/x`, `${run}/wild/b/x`, `${run}/wild/a/y`, `${run}/deep/1/2/3`]) await ps.publish({ topic: t, data: Buffer.from(t), metadata: {} });
      await until(() => got.length >= 3, () => got.join(','), MAX_READ_MS);
      await sleep(500);
      expect(got.sort()).toEqual([`${run}/deep/1/2/3`, `${run}/wild/a/x`, `${run}/wild/b/x`]);
    });
  });
}
