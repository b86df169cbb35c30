// The built sidecar's Dapr HTTP lock API (/v1.0-alpha1/lock|unlock/{store}), driven by the real
// @dapr/dapr DaprClient over HTTP and by raw requests for the exact wire shapes and error codes.
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr';
import { Redis } from 'ioredis';
import { LockStatus } from '@dapr/dapr/types/lock/UnlockResponse';
import { LOCK_BACKENDS, post, uniqueRun } from '../helpers/lock-backends';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';

const STORE = 'lockstore';
const run = uniqueRun();

for (const backend of LOCK_BACKENDS) {
  describe(`Dapr HTTP lock on ${backend.type}`, () => {
    let enabled = false;
    let sc: Sidecar;
    let client: DaprClient;
    const r = (name: string) => `http-${backend.type}-${name}-${run}`;
    const lock = (store: string, body: unknown, raw = false) => post(sc.httpPort, `/v1.0-alpha1/lock/${store}`, body, raw);
    const unlock = (store: string, body: unknown) => post(sc.httpPort, `/v1.0-alpha1/unlock/${store}`, body);

    beforeAll(async () => {
      enabled = await backend.reachable();
      if (!enabled) return;
      sc = await startSidecar({ resources: { 'lock.yaml': componentYaml(STORE, backend.type, backend.metadata) } });
      client = new DaprClient({
        daprHost: '127.0.0.1',
        daprPort: String(sc.httpPort),
        communicationProtocol: CommunicationProtocolEnum.HTTP,
        logger: { level: LogLevel.Error },
      });
    });

    afterAll(async () => {
      if (!enabled) return;
      await client.stop().catch(() => undefined);
      await sc.stop();
    });

    it('SDK: lock, refused for another owner, unlock statuses', async () => {
      if (!enabled) return;
      expect(await client.lock.lock(STORE, r('a'), 'owner1', 30)).toEqual({ success: true });
      expect(await client.lock.lock(STORE, r('a'), 'owner2', 30)).toEqual({ success: false });
      expect(await client.lock.unlock(STORE, r('a'), 'owner2')).toEqual({ status: LockStatus.LockBelongsToOthers });
      expect(await client.lock.unlock(STORE, r('a'), 'owner1')).toEqual({ status: LockStatus.Success });
      expect(await client.lock.unlock(STORE, r('a'), 'owner1')).toEqual({ status: LockStatus.LockDoesNotExist });
    });

    it('wire: unpopulated fields are emitted; status is numeric; proto names and string int32 are read', async () => {
      if (!enabled) return;
      expect(await lock(STORE, { resourceId: r('w'), lockOwner: 'o', expiryInSeconds: 30 })).toEqual({ status: 200, body: { success: true } });
      expect(await lock(STORE, { resource_id: r('w'), lock_owner: 'x', expiry_in_seconds: '30', unknown: 1 })).toEqual({ status: 200, body: { success: false } });
      expect(await unlock(STORE, { resourceId: r('w'), lockOwner: 'o' })).toEqual({ status: 200, body: { status: 0 } });
      expect(await unlock(STORE, { resourceId: r('w'), lockOwner: 'o' })).toEqual({ status: 200, body: { status: 1 } });
    });

    it('stores the lock under the core\'s key (lock||<app-id>||<resourceId>; on Redis: value = owner, with a TTL)', async () => {
      if (!enabled || backend.type !== 'lock.redis') return;
      const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
      try {
        await redis.connect();
        expect(await lock(STORE, { resourceId: r('k'), lockOwner: 'owner-k', expiryInSeconds: 30 })).toEqual({ status: 200, body: { success: true } });
        const key = `lock||compat-app||${r('k')}`;
        expect(await redis.get(key)).toBe('owner-k');
        expect(await redis.pttl(key)).toBeGreaterThan(0);
        await redis.del(key);
      } finally {
        redis.disconnect();
      }
    });

    it.each([
      ['empty resourceId', { lockOwner: 'o', expiryInSeconds: 10 }, STORE, 400, 'ERR_MALFORMED_REQUEST', `ResourceId is empty in lock store ${STORE}`],
      ['empty lockOwner', { resourceId: 'x', expiryInSeconds: 10 }, STORE, 400, 'ERR_MALFORMED_REQUEST', `LockOwner is empty in lock store ${STORE}`],
      ['zero expiry', { resourceId: 'x', lockOwner: 'o' }, STORE, 400, 'ERR_MALFORMED_REQUEST', `ExpiryInSeconds is not positive in lock store ${STORE}`],
      ['negative expiry', { resourceId: 'x', lockOwner: 'o', expiryInSeconds: -5 }, STORE, 400, 'ERR_MALFORMED_REQUEST', `ExpiryInSeconds is not positive in lock store ${STORE}`],
      ['unknown store', { resourceId: 'x', lockOwner: 'o', expiryInSeconds: 10 }, 'nope', 400, 'ERR_LOCK_STORE_NOT_FOUND', 'lock store nope not found'],
      ['|| in the resource id', { resourceId: 'a||b', lockOwner: 'o', expiryInSeconds: 10 }, STORE, 500, 'ERR_TRY_LOCK', "failed to try acquiring lock: input key/keyPrefix 'a||b' can't contain '||'"],
    ])('TryLock refuses %s', async (_name, body, store, status, errorCode, message) => {
      if (!enabled) return;
      const res = await lock(store, body);
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ errorCode, message });
    });

    it('refuses bad bodies with ERR_MALFORMED_REQUEST, and unlock validates like TryLock (no expiry)', async () => {
      if (!enabled) return;
      const bad = await lock(STORE, '{not json', true);
      expect(bad.status).toBe(400);
      expect(bad.body.errorCode).toBe('ERR_MALFORMED_REQUEST');
      const wrongType = await lock(STORE, { resourceId: 5, lockOwner: 'o', expiryInSeconds: 10 });
      expect(wrongType).toMatchObject({ status: 400, body: { errorCode: 'ERR_MALFORMED_REQUEST' } });
      expect(await unlock(STORE, { lockOwner: 'o' })).toMatchObject({ status: 400, body: { message: `ResourceId is empty in lock store ${STORE}` } });
      expect(await unlock(STORE, { resourceId: 'x' })).toMatchObject({ status: 400, body: { message: `LockOwner is empty in lock store ${STORE}` } });
      expect(await unlock('nope', { resourceId: 'x', lockOwner: 'o' })).toMatchObject({ status: 400, body: { errorCode: 'ERR_LOCK_STORE_NOT_FOUND' } });
      expect(await unlock(STORE, { resourceId: 'a||b', lockOwner: 'o' })).toMatchObject({ status: 500, body: { errorCode: 'ERR_UNLOCK' } });
    });
  });
}

describe('Dapr HTTP lock without a lock store', () => {
  let sc: Sidecar;
  beforeAll(async () => {
    sc = await startSidecar({ resources: {} });
  });
  afterAll(async () => {
    await sc.stop();
  });

  it('answers 500 ERR_LOCK_STORE_NOT_CONFIGURED; a bad expiry is checked first, as daprd does', async () => {
    const body = { resourceId: 'x', lockOwner: 'o', expiryInSeconds: 10 };
    expect(await post(sc.httpPort, '/v1.0-alpha1/lock/any', body)).toMatchObject({
      status: 500,
      body: { errorCode: 'ERR_LOCK_STORE_NOT_CONFIGURED', message: 'lock store is not configured' },
    });
    expect(await post(sc.httpPort, '/v1.0-alpha1/unlock/any', body)).toMatchObject({ status: 500, body: { errorCode: 'ERR_LOCK_STORE_NOT_CONFIGURED' } });
    expect(await post(sc.httpPort, '/v1.0-alpha1/lock/any', { ...body, expiryInSeconds: 0 })).toMatchObject({
      status: 400,
      body: { errorCode: 'ERR_MALFORMED_REQUEST', message: 'ExpiryInSeconds is not positive in lock store any' },
    });
  });
});
