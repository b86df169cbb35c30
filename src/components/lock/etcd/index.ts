// lock.etcd, Layotto's layout: the key is keyPrefixPath (default "/layotto/") + the resource id as
// the core hands it over, the value is the owner, attached to a lease of `expiryInSeconds`. TryLock
// is one txn "create if absent" (create_revision = 0); unlock and keep-alive are txns on
// value = owner, whose else-branch read tells a missing lock from another owner's. Keep-alive moves
// the key to a fresh lease (Layotto has none). Leases left without keys are revoked right away.
// etcd grants at least its minimum lease TTL (2 s with default election settings), so a 1 s
// lock lives about 2 s.
import type { Etcd3, IOperation } from 'etcd3';
import { closeEtcd, connectEtcd, parseEtcdMetadata, pingEtcd } from '../../common/etcd';
import type { ComponentMetadata } from '../../types';
import { assertKeyPrefix } from '../metadata';
import { type LockStore, type TryLockRequest, type UnlockRequest, UnlockStatus } from '../types';

export class EtcdLockStore implements LockStore {
  private client?: Etcd3;
  private prefix = '';

  async init(md: ComponentMetadata): Promise<void> {
    assertKeyPrefix(md.properties);
    const cfg = parseEtcdMetadata(md.properties);
    this.client = await connectEtcd(cfg, 'etcd lock');
    this.prefix = cfg.keyPrefix;
  }

  features(): readonly string[] {
    return [];
  }

  ping(): Promise<void> {
    return pingEtcd(this.etcd());
  }

  async tryLock(req: TryLockRequest): Promise<{ success: boolean }> {
    const etcd = this.etcd();
    const key = this.prefix + req.resourceId;
    const lease = await this.grant(req.expiryInSeconds);
    let ok = false;
    try {
      const res = await etcd.if(key, 'Create', '==', 0).then(etcd.put(key).value(req.lockOwner).lease(lease)).commit();
      ok = res.succeeded;
    } finally {
      if (!ok) await this.revoke(lease);
    }
    return { success: ok };
  }

  async unlock(req: UnlockRequest): Promise<{ status: UnlockStatus }> {
    const etcd = this.etcd();
    const key = this.prefix + req.resourceId;
    return this.ifOwner(key, req.lockOwner, [etcd.delete().key(key)]);
  }

  async lockKeepAlive(req: TryLockRequest): Promise<{ status: UnlockStatus }> {
    const etcd = this.etcd();
    const key = this.prefix + req.resourceId;
    const lease = await this.grant(req.expiryInSeconds);
    const res = await this.ifOwner(key, req.lockOwner, [etcd.put(key).value(req.lockOwner).lease(lease)]).catch(async (e) => {
      await this.revoke(lease);
      throw e;
    });
    if (res.status !== UnlockStatus.SUCCESS) await this.revoke(lease);
    return res;
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    closeEtcd(c);
  }

  /**
   * Runs `then` when `key` holds `owner`, after reading the key in the same txn so its old lease can
   * be revoked; otherwise reads it to tell "missing" from "someone else's".
   */
  private async ifOwner(key: string, owner: string, then: IOperation[]): Promise<{ status: UnlockStatus }> {
    const etcd = this.etcd();
    const res = await etcd
      .if(key, 'Value', '==', owner)
      .then(etcd.get(key), ...then)
      .else(etcd.get(key))
      .commit();
    const kv = res.responses[0]?.response_range.kvs[0];
    if (!res.succeeded) return { status: kv ? UnlockStatus.LOCK_BELONGS_TO_OTHERS : UnlockStatus.LOCK_DOES_NOT_EXIST };
    if (kv && kv.lease !== '0') await this.revoke(kv.lease);
    return { status: UnlockStatus.SUCCESS };
  }

  private async grant(ttlSeconds: number): Promise<string> {
    const res = await this.etcd().leaseClient.leaseGrant({ TTL: ttlSeconds });
    return res.ID;
  }

  /** Best effort: a lease that is not revoked still ends at its TTL. */
  private async revoke(id: string): Promise<void> {
    await this.client?.leaseClient.leaseRevoke({ ID: id }).catch(() => undefined);
  }

  private etcd(): Etcd3 {
    if (!this.client) throw new Error('etcd lock store is not initialized');
    return this.client;
  }
}
