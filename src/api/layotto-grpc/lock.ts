// Lock rpcs of spec.proto.runtime.v1.Runtime: the same LockCore calls as the Dapr faces, with
// Layotto's validation order and messages. `expire` is in seconds. LockKeepAlive is served for
// real (Layotto declares it but answers every call with an error).
import type * as grpc from '@grpc/grpc-js';
import type { LockCore } from '../../core/lock';
import { unary } from './handlers';

interface LockRequest {
  store_name: string;
  resource_id: string;
  lock_owner: string;
}
interface ExpiringLockRequest extends LockRequest {
  expire: number;
}

const expiring = (req: ExpiringLockRequest) => ({
  storeName: req.store_name,
  resourceId: req.resource_id,
  lockOwner: req.lock_owner,
  expiryInSeconds: req.expire,
});

export function lockHandlers(lock: LockCore): grpc.UntypedServiceImplementation {
  return {
    TryLock: unary(async (req: ExpiringLockRequest): Promise<{ success: boolean }> => lock.tryLock(expiring(req))),
    // Status numbers are shared with the core's UnlockStatus (the loader keeps enums as numbers).
    Unlock: unary(async (req: LockRequest): Promise<{ status: number }> =>
      lock.unlock({ storeName: req.store_name, resourceId: req.resource_id, lockOwner: req.lock_owner }),
    ),
    LockKeepAlive: unary(async (req: ExpiringLockRequest): Promise<{ status: number }> => lock.keepAlive(expiring(req))),
  };
}
