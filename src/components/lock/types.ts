// The distributed lock contract (Dapr's lock.Store plus Layotto's LockKeepAlive).
import type { Component } from '../types';

export interface TryLockRequest {
  resourceId: string;
  lockOwner: string;
  expiryInSeconds: number;
}

/** Numeric values are the wire values of both APIs' unlock status enums. */
export const UnlockStatus = {
  SUCCESS: 0,
  LOCK_DOES_NOT_EXIST: 1,
  LOCK_BELONGS_TO_OTHERS: 2,
  INTERNAL_ERROR: 3,
} as const;
export type UnlockStatus = (typeof UnlockStatus)[keyof typeof UnlockStatus];

export interface UnlockRequest {
  resourceId: string;
  lockOwner: string;
}

export interface LockStore extends Component {
  tryLock(req: TryLockRequest): Promise<{ success: boolean }>;
  unlock(req: UnlockRequest): Promise<{ status: UnlockStatus }>;
  /** Extends a held lock's expiry; same statuses as unlock. */
  lockKeepAlive(req: TryLockRequest): Promise<{ status: UnlockStatus }>;
}
