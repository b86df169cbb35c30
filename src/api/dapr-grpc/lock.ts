// Lock rpcs of dapr.proto.runtime.v1.Dapr (alpha1): proto messages <-> LockCore calls.
import type * as grpc from '@grpc/grpc-js';
import type { LockCore } from '../../core/lock';
import { unary } from './handlers';

interface TryLockRequest {
  store_name: string;
  resource_id: string;
  lock_owner: string;
  expiry_in_seconds: number;
}
type UnlockRequest = Omit<TryLockRequest, 'expiry_in_seconds'>;

/** UnlockResponse.Status by wire number (the loader reads and writes enums as names). */
const STATUS_NAMES = ['SUCCESS', 'LOCK_DOES_NOT_EXIST', 'LOCK_BELONGS_TO_OTHERS', 'INTERNAL_ERROR'] as const;

export function lockHandlers(lock: LockCore): grpc.UntypedServiceImplementation {
  return {
    TryLockAlpha1: unary(async (req: TryLockRequest): Promise<{ success: boolean }> =>
      lock.tryLock(
        { storeName: req.store_name, resourceId: req.resource_id, lockOwner: req.lock_owner, expiryInSeconds: req.expiry_in_seconds },
        { expiryFirst: true },
      ),
    ),
    UnlockAlpha1: unary(async (req: UnlockRequest): Promise<{ status: string }> => {
      const { status } = await lock.unlock({ storeName: req.store_name, resourceId: req.resource_id, lockOwner: req.lock_owner });
      return { status: STATUS_NAMES[status] };
    }),
  };
}
