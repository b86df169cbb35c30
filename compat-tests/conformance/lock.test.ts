// Lock conformance suite (after components-contrib tests/conformance/lock/lock.go, dapr.md §8.3):
// every component in config/lock/tests.yml is created through the registry, initialized with its
// real manifest, and run through init, TryLock, Unlock, expiry and (our addition) keep-alive.
// Redis also gets its storage layout checked against contrib's (plain string key = resource id,
// value = owner, a TTL), so daprd and this sidecar can share one Redis; etcd against Layotto's
// (keyPrefixPath + resource id = owner, on a lease).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import { parse } from 'yaml';
import { registries } from '../../src/components/builtin';
import { type LockStore, UnlockStatus } from '../../src/components/lock/types';
import type { ComponentMetadata } from '../../src/components/types';
import { requireService } from '../../test/services';
import { sleep } from '../../test/wait';

const CONFIG = join(__dirname, '..', 'config', 'lock');

interface Entry {
  component: string;
  service?: { name: string; host: string; port: number };
  /** How long past its expiry the store may still hold a lock (default 100 ms). */
  expiryLagMs?: number;
}

interface Manifest {
  metadata: { name: string };
  spec: { type: string; version?: string; metadata?: { name: string; value: string }[] };
}

const matrix = parse(readFileSync(join(CONFIG, 'tests.yml'), 'utf8')) as { components: Entry[] };

function loadManifest(e: Entry): ComponentMetadata {
  const m = parse(readFileSync(join(CONFIG, e.component, 'lockstore.yaml'), 'utf8')) as Manifest;
  const properties = Object.fromEntries((m.spec.metadata ?? []).map((x) => [x.name, String(x.value)]));
  return { name: m.metadata.name, type: m.spec.type, version: m.spec.version ?? 'v1', properties, appId: 'conformance', namespace: '' };
}

for (const entry of matrix.components) {
  describe(`lock.${entry.component}`, () => {
    let store: LockStore;
    let ready = false;
    const run = `lockconf-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;
    const rid = (k: string) => `${run}-${k}`;
    const pastExpiry = 1000 + (entry.expiryLagMs ?? 100);

    const check = (name: string, fn: () => Promise<void>, timeout?: number) =>
      it(name, async () => {
        if (ready) await fn();
      }, timeout);

    beforeAll(async () => {
      if (entry.service && !(await requireService(entry.service.name, entry.service.host, entry.service.port))) return;
      const md = loadManifest(entry);
      const reg = registries.lock.find(md.type.replace(/^lock\./, ''), md.version);
      if (!reg) throw new Error(`${md.type}/${md.version} is not registered`);
      store = reg.factory();
      await store.init(md);
      ready = true;
    });

    afterAll(async () => {
      if (ready) await store.close();
    });

    check('TryLock: acquires two locks, fails on an existing one', async () => {
      expect(await store.tryLock({ resourceId: rid('r1'), lockOwner: 'owner1', expiryInSeconds: 10 })).toEqual({ success: true });
      expect(await store.tryLock({ resourceId: rid('r2'), lockOwner: 'owner1', expiryInSeconds: 10 })).toEqual({ success: true });
      expect(await store.tryLock({ resourceId: rid('r1'), lockOwner: 'owner2', expiryInSeconds: 10 })).toEqual({ success: false });
      // Not reentrant: the same owner does not get it twice either.
      expect(await store.tryLock({ resourceId: rid('r1'), lockOwner: 'owner1', expiryInSeconds: 10 })).toEqual({ success: false });
    });

    check('Unlock: nonexistent, wrong owner, success', async () => {
      expect(await store.unlock({ resourceId: rid('never'), lockOwner: 'owner1' })).toEqual({ status: UnlockStatus.LOCK_DOES_NOT_EXIST });
      expect(await store.unlock({ resourceId: rid('r2'), lockOwner: 'owner2' })).toEqual({ status: UnlockStatus.LOCK_BELONGS_TO_OTHERS });
      expect(await store.unlock({ resourceId: rid('r2'), lockOwner: 'owner1' })).toEqual({ status: UnlockStatus.SUCCESS });
      expect(await store.tryLock({ resourceId: rid('r2'), lockOwner: 'owner2', expiryInSeconds: 10 })).toEqual({ success: true });
    });

    check('a lock expires', async () => {
      expect(await store.tryLock({ resourceId: rid('exp'), lockOwner: 'owner1', expiryInSeconds: 1 })).toEqual({ success: true });
      await sleep(pastExpiry);
      expect(await store.unlock({ resourceId: rid('exp'), lockOwner: 'owner1' })).toEqual({ status: UnlockStatus.LOCK_DOES_NOT_EXIST });
      expect(await store.tryLock({ resourceId: rid('exp'), lockOwner: 'owner2', expiryInSeconds: 10 })).toEqual({ success: true });
    }, pastExpiry + 10000);

    check('keep-alive: only the owner extends a live lock', async () => {
      expect(await store.lockKeepAlive({ resourceId: rid('ka'), lockOwner: 'owner1', expiryInSeconds: 30 })).toEqual({ status: UnlockStatus.LOCK_DOES_NOT_EXIST });
      expect(await store.tryLock({ resourceId: rid('ka'), lockOwner: 'owner1', expiryInSeconds: 1 })).toEqual({ success: true });
      expect(await store.lockKeepAlive({ resourceId: rid('ka'), lockOwner: 'owner2', expiryInSeconds: 30 })).toEqual({ status: UnlockStatus.LOCK_BELONGS_TO_OTHERS });
      expect(await store.lockKeepAlive({ resourceId: rid('ka'), lockOwner: 'owner1', expiryInSeconds: 30 })).toEqual({ status: UnlockStatus.SUCCESS });
      await sleep(pastExpiry); // past the original 1 s expiry, far inside the renewed 30 s
      expect(await store.tryLock({ resourceId: rid('ka'), lockOwner: 'owner2', expiryInSeconds: 10 })).toEqual({ success: false });
      expect(await store.unlock({ resourceId: rid('ka'), lockOwner: 'owner1' })).toEqual({ status: UnlockStatus.SUCCESS });
    }, pastExpiry + 10000);

    if (entry.component === 'redis') {
      check('stores what contrib stores: key = resource id, value = owner, with a TTL', async () => {
        const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
        try {
          await redis.connect();
          expect(await store.tryLock({ resourceId: rid('layout'), lockOwner: 'owner-x', expiryInSeconds: 20 })).toEqual({ success: true });
          expect(await redis.type(rid('layout'))).toBe('string');
          expect(await redis.get(rid('layout'))).toBe('owner-x');
          const pttl = await redis.pttl(rid('layout'));
          expect(pttl).toBeGreaterThan(0);
          expect(pttl).toBeLessThanOrEqual(20000);
          // A lock written by another runtime (contrib's SET NX) is honoured here, and vice versa.
          await redis.set(rid('foreign'), 'daprd-owner', 'EX', 20, 'NX');
          expect(await store.tryLock({ resourceId: rid('foreign'), lockOwner: 'me', expiryInSeconds: 5 })).toEqual({ success: false });
          expect(await store.unlock({ resourceId: rid('foreign'), lockOwner: 'daprd-owner' })).toEqual({ status: UnlockStatus.SUCCESS });
          expect(await redis.exists(rid('foreign'))).toBe(0);
          expect(await store.lockKeepAlive({ resourceId: rid('layout'), lockOwner: 'owner-x', expiryInSeconds: 300 })).toEqual({ status: UnlockStatus.SUCCESS });
          expect(await redis.pttl(rid('layout'))).toBeGreaterThan(20000);
          await redis.del(rid('layout'));
        } finally {
          redis.disconnect();
        }
      });

      check('init refuses failover and an unreachable server', async () => {
        const md = loadManifest(entry);
        const bad = registries.lock.create('redis')!;
        await expect(bad.init({ ...md, properties: { ...md.properties, failover: 'true' } })).rejects.toThrow('does not support connecting to Redis with failover');
        const down = registries.lock.create('redis')!;
        await expect(down.init({ ...md, properties: { redisHost: '127.0.0.1:1', dialTimeout: '1s' } })).rejects.toThrow('error connecting to redis at 127.0.0.1:1');
      });
    }

    if (entry.component === 'etcd') {
      check('stores what Layotto stores: keyPrefixPath + resource id = owner, on a lease; no lease left behind', async () => {
        const etcd = new Etcd3({ hosts: 'http://127.0.0.1:2379' });
        const key = (r: string) => `/layotto-conformance/${rid(r)}`;
        try {
          const ttlOf = async (id: string) => Number((await etcd.leaseClient.leaseTimeToLive({ ID: id })).TTL);
          expect(await store.tryLock({ resourceId: rid('layout'), lockOwner: 'owner-x', expiryInSeconds: 20 })).toEqual({ success: true });
          const kv = (await etcd.get(key('layout')).exec()).kvs[0]!;
          expect(kv.value.toString()).toBe('owner-x');
          const ttl = await ttlOf(kv.lease);
          expect(ttl).toBeGreaterThan(0);
          expect(ttl).toBeLessThanOrEqual(20);
          // A lock written by another runtime (Layotto's txn: put with a lease if absent) is honoured, and vice versa.
          const foreign = await etcd.lease(20, { autoKeepAlive: false }).grant();
          await etcd.put(key('foreign')).value('layotto-owner').lease(foreign);
          expect(await store.tryLock({ resourceId: rid('foreign'), lockOwner: 'me', expiryInSeconds: 5 })).toEqual({ success: false });
          expect(await store.unlock({ resourceId: rid('foreign'), lockOwner: 'layotto-owner' })).toEqual({ status: UnlockStatus.SUCCESS });
          expect(await etcd.get(key('foreign')).exists()).toBe(false);
          expect(await store.lockKeepAlive({ resourceId: rid('layout'), lockOwner: 'owner-x', expiryInSeconds: 300 })).toEqual({ status: UnlockStatus.SUCCESS });
          const renewed = (await etcd.get(key('layout')).exec()).kvs[0]!;
          expect(await ttlOf(renewed.lease)).toBeGreaterThan(20);
          expect(await store.unlock({ resourceId: rid('layout'), lockOwner: 'owner-x' })).toEqual({ status: UnlockStatus.SUCCESS });
          // Released and renewed locks leave no lease behind (etcd answers TTL -1 for a revoked one).
          expect([await ttlOf(foreign), await ttlOf(kv.lease), await ttlOf(renewed.lease)]).toEqual([-1, -1, -1]);
        } finally {
          etcd.close();
        }
      });

      check('init refuses missing endpoints and an unreachable server', async () => {
        const md = loadManifest(entry);
        const bad = registries.lock.create('etcd')!;
        await expect(bad.init({ ...md, properties: {} })).rejects.toThrow('metadata field "endpoints": missing endpoints address');
        const down = registries.lock.create('etcd')!;
        await expect(down.init({ ...md, properties: { endpoints: '127.0.0.1:1', dialTimeout: '1' } })).rejects.toThrow('error connecting to etcd at 127.0.0.1:1');
      });
    }
  });
}
