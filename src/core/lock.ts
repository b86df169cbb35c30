// The lock building block, written once. Dapr HTTP, Dapr gRPC and Layotto gRPC call these with
// plain values; one live component serves all three, and one key format (below) means a lock taken
// over one API is held over the others.
//
// Key format: daprd's (pkg/components/lock/lock_config.go), `lock||<prefix>||<resourceId>`, prefix
// from the component's keyPrefix metadata (default appid), so daprd and this sidecar can share a
// lock store. (Layotto writes `lock|||...`; one format must win, and drop-in for daprd does.)
import { errMessage, RuntimeError } from '../errors/runtime-error';
import type { ErrorKind } from '../errors/codes';
import { KEY_SEPARATOR, keyPrefixOf } from '../components/lock/metadata';
import { type LockStore, UnlockStatus } from '../components/lock/types';
import type { CoreContext } from './context';

const API_PREFIX = 'lock';
const API_SEPARATOR = '||';

export interface LockInput {
  storeName: string;
  resourceId: string;
  lockOwner: string;
}

export interface ExpiringLockInput extends LockInput {
  expiryInSeconds: number;
}

export interface LockOptions {
  /** daprd checks expiry before anything else on TryLock; Layotto checks it after the owner. */
  expiryFirst?: boolean;
}

export class LockCore {
  constructor(private readonly ctx: CoreContext) {}

  async tryLock(req: ExpiringLockInput, opts: LockOptions = {}): Promise<{ success: boolean }> {
    const { store, key } = this.validate(req, req.expiryInSeconds, opts, 'TRY_LOCK');
    try {
      const res = await store.tryLock({ resourceId: key, lockOwner: req.lockOwner, expiryInSeconds: req.expiryInSeconds });
      return { success: res.success };
    } catch (e) {
      throw new RuntimeError('TRY_LOCK', errMessage(e));
    }
  }

  async unlock(req: LockInput): Promise<{ status: UnlockStatus }> {
    const { store, key } = this.validate(req, undefined, {}, 'UNLOCK');
    try {
      return { status: (await store.unlock({ resourceId: key, lockOwner: req.lockOwner })).status };
    } catch (e) {
      throw new RuntimeError('UNLOCK', errMessage(e));
    }
  }

  /** Extends a lock the owner holds to expire `expiryInSeconds` from now (Layotto's LockKeepAlive). */
  async keepAlive(req: ExpiringLockInput): Promise<{ status: UnlockStatus }> {
    const { store, key } = this.validate(req, req.expiryInSeconds, {}, 'LOCK_KEEP_ALIVE');
    try {
      const res = await store.lockKeepAlive({ resourceId: key, lockOwner: req.lockOwner, expiryInSeconds: req.expiryInSeconds });
      return { status: res.status };
    } catch (e) {
      throw new RuntimeError('LOCK_KEEP_ALIVE', errMessage(e));
    }
  }

  /** The resource id as stored: `lock||app1||rid` for the default appid strategy. */
  key(storeName: string, resourceId: string): string {
    const live = this.ctx.components.get('lock', storeName);
    const strategy = (live && keyPrefixOf(live.meta.properties)) || 'appid';
    for (const part of [resourceId, strategy]) {
      if (part.includes(KEY_SEPARATOR)) throw new Error(`input key/keyPrefix '${part}' can't contain '${KEY_SEPARATOR}'`);
    }
    const head = API_PREFIX + API_SEPARATOR;
    switch (strategy.toLowerCase()) {
      case 'none':
        return head + resourceId;
      case 'name':
        return head + storeName + KEY_SEPARATOR + resourceId;
      case 'appid':
        return this.ctx.appId ? head + this.ctx.appId + KEY_SEPARATOR + resourceId : head + resourceId;
      default:
        return head + strategy.toLowerCase() + KEY_SEPARATOR + resourceId;
    }
  }

  /** Layotto's order: configured → resource id → owner → expiry → store exists; then the key. */
  private validate(req: LockInput, expiry: number | undefined, opts: LockOptions, onBadKey: ErrorKind): { store: LockStore; key: string } {
    const checkExpiry = () => {
      if (expiry !== undefined && !(expiry > 0)) throw new RuntimeError('LOCK_EXPIRY_NOT_POSITIVE', req.storeName);
    };
    if (opts.expiryFirst) checkExpiry();
    if (this.ctx.components.count('lock') === 0) throw new RuntimeError('LOCK_STORE_NOT_CONFIGURED');
    if (!req.resourceId) throw new RuntimeError('LOCK_RESOURCE_ID_EMPTY', req.storeName);
    if (!req.lockOwner) throw new RuntimeError('LOCK_OWNER_EMPTY', req.storeName);
    checkExpiry();
    const live = this.ctx.components.get('lock', req.storeName);
    if (!live) throw new RuntimeError('LOCK_STORE_NOT_FOUND', req.storeName);
    try {
      return { store: live.instance, key: this.key(req.storeName, req.resourceId) };
    } catch (e) {
      // daprd reports a bad key as the operation's failure (ERR_TRY_LOCK / ERR_UNLOCK, 500).
      throw new RuntimeError(onBadKey, errMessage(e));
    }
  }
}
