import { ComponentStore } from '../components/store';
import { InMemoryLockStore } from '../components/lock/in-memory';
import { UnlockStatus } from '../components/lock/types';
import { RuntimeError } from '../errors/runtime-error';
import { toLayottoGrpc } from '../errors/to-grpc';
import { toHttp } from '../errors/to-http';
import { createCore } from '.';

async function coreWith(stores: Record<string, Record<string, string>>, appId = 'app1') {
  const components = new ComponentStore();
  for (const [name, properties] of Object.entries(stores)) {
    const meta = { name, type: 'lock.in-memory', version: 'v1', properties, appId, namespace: '' };
    const instance = new InMemoryLockStore();
    await instance.init(meta);
    components.add({ kind: 'lock', name, meta, instance, capabilities: [] });
  }
  return createCore({ components, appId, namespace: '', runtimeVersion: 't' }, { protocol: 'http', channelAddress: '127.0.0.1' }).lock;
}

const failure = async (p: Promise<unknown>): Promise<RuntimeError> => {
  const e = await p.catch((x: unknown) => x);
  expect(e).toBeInstanceOf(RuntimeError);
  return e as RuntimeError;
};

const req = (over: Partial<{ storeName: string; resourceId: string; lockOwner: string; expiryInSeconds: number }> = {}) => ({
  storeName: 'l',
  resourceId: 'r',
  lockOwner: 'o',
  expiryInSeconds: 10,
  ...over,
});

describe('lock core', () => {
  it.each([
    [{}, 'lock||app1||r'],
    [{ keyPrefix: 'appid' }, 'lock||app1||r'],
    [{ keyPrefix: 'name' }, 'lock||l||r'],
    [{ keyPrefix: 'none' }, 'lock||r'],
    [{ keyPrefix: 'Custom' }, 'lock||custom||r'],
    [{ KEYPREFIX: 'NONE' }, 'lock||r'],
  ])('key prefix %j (layotto.md §3.2)', async (props, expected) => {
    expect((await coreWith({ l: props })).key('l', 'r')).toBe(expected);
  });

  it('appid without an app id falls back to lock||<resourceId>, as daprd does', async () => {
    expect((await coreWith({ l: {} }, '')).key('l', 'r')).toBe('lock||r');
  });

  it('refuses a keyPrefix containing || at init', async () => {
    await expect(coreWith({ l: { keyPrefix: 'a||b' } })).rejects.toThrow("input key/keyPrefix 'a||b' can't contain '||'");
  });

  it('validates in Layotto order: configured, resource id, owner, expiry, store', async () => {
    const none = await coreWith({});
    expect((await failure(none.tryLock(req({ resourceId: '', expiryInSeconds: 0 })))).kind).toBe('LOCK_STORE_NOT_CONFIGURED');
    const lock = await coreWith({ l: {} });
    const all = { storeName: 'x', resourceId: '', lockOwner: '', expiryInSeconds: 0 };
    expect((await failure(lock.tryLock(all))).kind).toBe('LOCK_RESOURCE_ID_EMPTY');
    expect((await failure(lock.tryLock({ ...all, resourceId: 'r' }))).kind).toBe('LOCK_OWNER_EMPTY');
    expect((await failure(lock.tryLock({ ...all, resourceId: 'r', lockOwner: 'o' }))).kind).toBe('LOCK_EXPIRY_NOT_POSITIVE');
    expect((await failure(lock.tryLock({ ...all, resourceId: 'r', lockOwner: 'o', expiryInSeconds: 1 }))).kind).toBe('LOCK_STORE_NOT_FOUND');
    expect((await failure(lock.unlock({ storeName: 'x', resourceId: 'r', lockOwner: 'o' }))).kind).toBe('LOCK_STORE_NOT_FOUND');
    expect((await failure(lock.keepAlive(req({ expiryInSeconds: -1 })))).kind).toBe('LOCK_EXPIRY_NOT_POSITIVE');
  });

  it('daprd checks a TryLock expiry before anything else', async () => {
    const none = await coreWith({});
    expect((await failure(none.tryLock(req({ expiryInSeconds: 0 }), { expiryFirst: true }))).kind).toBe('LOCK_EXPIRY_NOT_POSITIVE');
  });

  it('maps the errors to daprd and Layotto codes and messages', async () => {
    const lock = await coreWith({ l: {} });
    const expiry = await failure(lock.tryLock(req({ expiryInSeconds: 0 })));
    expect(toHttp(expiry)).toMatchObject({ status: 400, body: { errorCode: 'ERR_MALFORMED_REQUEST', message: 'ExpiryInSeconds is not positive in lock store l' } });
    expect(toLayottoGrpc(expiry)).toMatchObject({ code: 3, details: 'Expire is not positive in lock store l' });
    const missing = await failure(lock.tryLock(req({ storeName: 'nope' })));
    expect(toHttp(missing)).toMatchObject({ status: 400, body: { errorCode: 'ERR_LOCK_STORE_NOT_FOUND', message: 'lock store nope not found' } });
    const none = await failure((await coreWith({})).unlock(req()));
    expect(toHttp(none)).toMatchObject({ status: 500, body: { errorCode: 'ERR_LOCK_STORE_NOT_CONFIGURED', message: 'lock store is not configured' } });
    expect(toLayottoGrpc(none)).toMatchObject({ code: 9, details: 'lock store is not configured' });
  });

  it('a resource id containing || fails the operation, as daprd reports it', async () => {
    const lock = await coreWith({ l: {} });
    const e = await failure(lock.tryLock(req({ resourceId: 'a||b' })));
    expect(toHttp(e)).toMatchObject({ status: 500, body: { errorCode: 'ERR_TRY_LOCK', message: "failed to try acquiring lock: input key/keyPrefix 'a||b' can't contain '||'" } });
    expect(toLayottoGrpc(e)).toMatchObject({ code: 2, details: "input key/keyPrefix 'a||b' can't contain '||'" });
    expect((await failure(lock.unlock(req({ resourceId: 'a||b' })))).kind).toBe('UNLOCK');
  });

  it('locks, refuses others, renews for the owner and unlocks', async () => {
    const lock = await coreWith({ l: {} });
    expect(await lock.tryLock(req())).toEqual({ success: true });
    expect(await lock.tryLock(req({ lockOwner: 'other' }))).toEqual({ success: false });
    expect(await lock.keepAlive(req({ lockOwner: 'other' }))).toEqual({ status: UnlockStatus.LOCK_BELONGS_TO_OTHERS });
    expect(await lock.keepAlive(req({ expiryInSeconds: 60 }))).toEqual({ status: UnlockStatus.SUCCESS });
    expect(await lock.unlock(req({ lockOwner: 'other' }))).toEqual({ status: UnlockStatus.LOCK_BELONGS_TO_OTHERS });
    expect(await lock.unlock(req())).toEqual({ status: UnlockStatus.SUCCESS });
    expect(await lock.unlock(req())).toEqual({ status: UnlockStatus.LOCK_DOES_NOT_EXIST });
    expect(await lock.keepAlive(req())).toEqual({ status: UnlockStatus.LOCK_DOES_NOT_EXIST });
  });

  it('keeps stores apart: the same resource id in two stores is two locks', async () => {
    const lock = await coreWith({ a: {}, b: {} });
    expect(await lock.tryLock(req({ storeName: 'a' }))).toEqual({ success: true });
    expect(await lock.tryLock(req({ storeName: 'b', lockOwner: 'x' }))).toEqual({ success: true });
  });
});
