// lock.in-memory: process-local locks with expiry. Expired entries count as absent on every read
// and a timer sweeps them, so an abandoned lock costs memory only until it expires.
import type { ComponentMetadata } from '../../types';
import { assertKeyPrefix } from '../metadata';
import { type LockStore, type TryLockRequest, type UnlockRequest, UnlockStatus } from '../types';

interface Held {
  owner: string;
  /** epoch ms */
  expireAt: number;
}

const SWEEP_MS = 1000;

export class InMemoryLockStore implements LockStore {
  private readonly locks = new Map<string, Held>();
  private sweeper?: NodeJS.Timeout;

  async init(md: ComponentMetadata): Promise<void> {
    assertKeyPrefix(md.properties);
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  features(): readonly string[] {
    return [];
  }

  async tryLock(req: TryLockRequest): Promise<{ success: boolean }> {
    if (this.live(req.resourceId)) return { success: false };
    this.locks.set(req.resourceId, { owner: req.lockOwner, expireAt: Date.now() + req.expiryInSeconds * 1000 });
    return { success: true };
  }

  async unlock(req: UnlockRequest): Promise<{ status: UnlockStatus }> {
    const status = this.ownership(req);
    if (status === UnlockStatus.SUCCESS) this.locks.delete(req.resourceId);
    return { status };
  }

  async lockKeepAlive(req: TryLockRequest): Promise<{ status: UnlockStatus }> {
    const status = this.ownership(req);
    if (status === UnlockStatus.SUCCESS) this.locks.get(req.resourceId)!.expireAt = Date.now() + req.expiryInSeconds * 1000;
    return { status };
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.locks.clear();
  }

  private ownership(req: UnlockRequest): UnlockStatus {
    const held = this.live(req.resourceId);
    if (!held) return UnlockStatus.LOCK_DOES_NOT_EXIST;
    return held.owner === req.lockOwner ? UnlockStatus.SUCCESS : UnlockStatus.LOCK_BELONGS_TO_OTHERS;
  }

  private live(key: string): Held | undefined {
    const held = this.locks.get(key);
    if (held && held.expireAt <= Date.now()) {
      this.locks.delete(key);
      return undefined;
    }
    return held;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, h] of this.locks) if (h.expireAt <= now) this.locks.delete(k);
  }
}
