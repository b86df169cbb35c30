// The built sidecar's Dapr gRPC lock rpcs (TryLockAlpha1 / UnlockAlpha1), driven by the real
// @dapr/dapr DaprClient over gRPC: the flow, every bad input's status code and message, and the
// google.rpc.ErrorInfo daprd attaches (reason = the errorCode).
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr';
import { LockStatus } from '@dapr/dapr/types/lock/UnlockResponse';
import { LOCK_BACKENDS, rejection, uniqueRun } from '../helpers/lock-backends';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';

const STORE = 'lockstore';
const run = uniqueRun();
const INVALID_ARGUMENT = 3;
const FAILED_PRECONDITION = 9;
const INTERNAL = 13;

interface ConnectLikeError {
  code?: number;
  rawMessage?: string;
  message: string;
  details?: { type?: string; desc?: { typeName: string }; value?: Uint8Array }[];
}

/** The ErrorInfo detail's bytes hold its reason string (a protobuf string field is UTF-8 as is). */
function errorInfoReasonIn(e: ConnectLikeError, reason: string): boolean {
  return (e.details ?? []).some((d) => (d.type ?? d.desc?.typeName) === 'google.rpc.ErrorInfo' && Buffer.from(d.value ?? []).includes(reason));
}

async function grpcClient(port: number): Promise<DaprClient> {
  const client = new DaprClient({
    daprHost: '127.0.0.1',
    daprPort: String(port),
    communicationProtocol: CommunicationProtocolEnum.GRPC,
    logger: { level: LogLevel.Error },
  });
  await client.start();
  return client;
}

for (const backend of LOCK_BACKENDS) {
  describe(`Dapr gRPC lock via @dapr/dapr SDK on ${backend.type}`, () => {
    let enabled = false;
    let sc: Sidecar;
    let client: DaprClient;
    const r = (name: string) => `grpc-${backend.type}-${name}-${run}`;

    beforeAll(async () => {
      enabled = await backend.reachable();
      if (!enabled) return;
      sc = await startSidecar({ resources: { 'lock.yaml': componentYaml(STORE, backend.type, backend.metadata) } });
      client = await grpcClient(sc.grpcPort);
    });

    afterAll(async () => {
      if (!enabled) return;
      await client.stop().catch(() => undefined);
      await sc.stop();
    });

    it('lock, refused for another owner, unlock statuses', async () => {
      if (!enabled) return;
      expect(await client.lock.lock(STORE, r('a'), 'owner1', 30)).toEqual({ success: true });
      expect(await client.lock.lock(STORE, r('a'), 'owner2', 30)).toEqual({ success: false });
      expect(await client.lock.unlock(STORE, r('a'), 'owner2')).toEqual({ status: LockStatus.LockBelongsToOthers });
      expect(await client.lock.unlock(STORE, r('a'), 'owner1')).toEqual({ status: LockStatus.Success });
      expect(await client.lock.unlock(STORE, r('a'), 'owner1')).toEqual({ status: LockStatus.LockDoesNotExist });
    });

    it.each([
      ['empty resourceId', ['', 'o', 10], STORE, INVALID_ARGUMENT, `ResourceId is empty in lock store ${STORE}`, 'ERR_MALFORMED_REQUEST'],
      ['empty lockOwner', ['x', '', 10], STORE, INVALID_ARGUMENT, `LockOwner is empty in lock store ${STORE}`, 'ERR_MALFORMED_REQUEST'],
      ['zero expiry', ['x', 'o', 0], STORE, INVALID_ARGUMENT, `ExpiryInSeconds is not positive in lock store ${STORE}`, 'ERR_MALFORMED_REQUEST'],
      ['unknown store', ['x', 'o', 10], 'nope', INVALID_ARGUMENT, 'lock store nope not found', 'ERR_LOCK_STORE_NOT_FOUND'],
      ['|| in the resource id', ['a||b', 'o', 10], STORE, INTERNAL, "failed to try acquiring lock: input key/keyPrefix 'a||b' can't contain '||'", 'ERR_TRY_LOCK'],
    ] as const)('TryLockAlpha1 refuses %s', async (_name, [rid, owner, expiry], store, code, message, reason) => {
      if (!enabled) return;
      const e = await rejection<ConnectLikeError>(client.lock.lock(store, rid, owner, expiry));
      expect(e.code).toBe(code);
      expect(e.rawMessage ?? e.message).toBe(message);
      expect(errorInfoReasonIn(e, reason)).toBe(true);
    });

    it('UnlockAlpha1 validates resource id, owner and store', async () => {
      if (!enabled) return;
      expect((await rejection<ConnectLikeError>(client.lock.unlock(STORE, '', 'o'))).code).toBe(INVALID_ARGUMENT);
      expect((await rejection<ConnectLikeError>(client.lock.unlock(STORE, 'x', ''))).code).toBe(INVALID_ARGUMENT);
      expect((await rejection<ConnectLikeError>(client.lock.unlock('nope', 'x', 'o'))).code).toBe(INVALID_ARGUMENT);
      expect((await rejection<ConnectLikeError>(client.lock.unlock(STORE, 'a||b', 'o'))).code).toBe(INTERNAL);
    });
  });
}

describe('Dapr gRPC lock without a lock store', () => {
  let sc: Sidecar;
  let client: DaprClient;
  beforeAll(async () => {
    sc = await startSidecar({ resources: {} });
    client = await grpcClient(sc.grpcPort);
  });
  afterAll(async () => {
    await client.stop().catch(() => undefined);
    await sc.stop();
  });

  it('FAILED_PRECONDITION "lock store is not configured" with ErrorInfo; a bad expiry is checked first', async () => {
    for (const call of [client.lock.lock('any', 'x', 'o', 10), client.lock.unlock('any', 'x', 'o')]) {
      const e = await rejection<ConnectLikeError>(call);
      expect(e.code).toBe(FAILED_PRECONDITION);
      expect(e.rawMessage ?? e.message).toBe('lock store is not configured');
      expect(errorInfoReasonIn(e, 'ERR_LOCK_STORE_NOT_CONFIGURED')).toBe(true);
    }
    const e = await rejection<ConnectLikeError>(client.lock.lock('any', 'x', 'o', 0));
    expect(e.code).toBe(INVALID_ARGUMENT);
    expect(e.rawMessage ?? e.message).toBe('ExpiryInSeconds is not positive in lock store any');
  });
});
