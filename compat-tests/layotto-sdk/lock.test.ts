// The built sidecar's Layotto lock rpcs: TryLock / Unlock through the real `layotto` Node SDK,
// LockKeepAlive (the SDK has no call for it) through a grpc-js client on our proto/layotto, the
// Layotto codes and messages for each bad input, and one lock seen from all three APIs.
import * as grpc from '@grpc/grpc-js';
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr';
import { loadLayottoDefinition } from '../../src/api/layotto-grpc/protos';
import { LOCK_BACKENDS, post, rejection, uniqueRun } from '../helpers/lock-backends';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Client } = require('layotto') as typeof import('layotto');

const STORE = 'lockstore';
const run = uniqueRun();
const UNKNOWN = 2;
const INVALID_ARGUMENT = 3;
const FAILED_PRECONDITION = 9;
const SUCCESS = 0;
const LOCK_UNEXIST = 1;
const LOCK_BELONG_TO_OTHERS = 2;

interface KeepAliveRequest {
  store_name: string;
  resource_id: string;
  lock_owner: string;
  expire: number;
}
type RuntimeClient = grpc.Client & {
  LockKeepAlive: (req: KeepAliveRequest, cb: (err: grpc.ServiceError | null, res?: { status: number }) => void) => void;
};

function runtimeClient(port: number): RuntimeClient {
  const pkg = grpc.loadPackageDefinition(loadLayottoDefinition()) as unknown as {
    spec: { proto: { runtime: { v1: { Runtime: grpc.ServiceClientConstructor } } } };
  };
  return new pkg.spec.proto.runtime.v1.Runtime(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as RuntimeClient;
}

const keepAlive = (c: RuntimeClient, req: KeepAliveRequest) =>
  new Promise<{ status: number }>((resolve, reject) => c.LockKeepAlive(req, (err, res) => (err ? reject(err) : resolve(res!))));

for (const backend of LOCK_BACKENDS) {
  describe(`Layotto lock on ${backend.type}`, () => {
    let enabled = false;
    let sc: Sidecar;
    let client: InstanceType<typeof Client>;
    let raw: RuntimeClient;
    let dapr: DaprClient;
    const r = (name: string) => `layotto-${backend.type}-${name}-${run}`;

    beforeAll(async () => {
      enabled = await backend.reachable();
      if (!enabled) return;
      sc = await startSidecar({ resources: { 'lock.yaml': componentYaml(STORE, backend.type, backend.metadata) } });
      client = new Client(String(sc.layottoPort), '127.0.0.1');
      raw = runtimeClient(sc.layottoPort);
      dapr = new DaprClient({
        daprHost: '127.0.0.1',
        daprPort: String(sc.grpcPort),
        communicationProtocol: CommunicationProtocolEnum.GRPC,
        logger: { level: LogLevel.Error },
      });
      await dapr.start();
    });

    afterAll(async () => {
      if (!enabled) return;
      client.close();
      raw.close();
      await dapr.stop().catch(() => undefined);
      await sc.stop();
    });

    it('SDK: tryLock, refused for another owner, unLock statuses', async () => {
      if (!enabled) return;
      const owner = client.lock.uuid();
      expect(await client.lock.tryLock({ storeName: STORE, resourceId: r('a'), lockOwner: owner, expire: 30 })).toBe(true);
      expect(await client.lock.tryLock({ storeName: STORE, resourceId: r('a'), lockOwner: 'other', expire: 30 })).toBe(false);
      expect(await client.lock.unLock({ storeName: STORE, resourceId: r('a'), lockOwner: 'other' })).toEqual({ status: LOCK_BELONG_TO_OTHERS });
      expect(await client.lock.unLock({ storeName: STORE, resourceId: r('a'), lockOwner: owner })).toEqual({ status: SUCCESS });
      expect(await client.lock.unLock({ storeName: STORE, resourceId: r('a'), lockOwner: owner })).toEqual({ status: LOCK_UNEXIST });
    });

    it('LockKeepAlive renews the owner\'s lock past its first expiry; others and missing locks get their status', async () => {
      if (!enabled) return;
      const req = { store_name: STORE, resource_id: r('ka'), lock_owner: 'o1', expire: 30 };
      expect(await keepAlive(raw, req)).toEqual({ status: LOCK_UNEXIST });
      expect(await client.lock.tryLock({ storeName: STORE, resourceId: r('ka'), lockOwner: 'o1', expire: 1 })).toBe(true);
      expect(await keepAlive(raw, { ...req, lock_owner: 'o2' })).toEqual({ status: LOCK_BELONG_TO_OTHERS });
      expect(await keepAlive(raw, req)).toEqual({ status: SUCCESS });
      await new Promise((res) => setTimeout(res, 1100)); // past the first 1 s, far inside the renewed 30 s
      expect(await client.lock.tryLock({ storeName: STORE, resourceId: r('ka'), lockOwner: 'o2', expire: 5 })).toBe(false);
      const e = await rejection<grpc.ServiceError>(keepAlive(raw, { ...req, expire: 0 }));
      expect([e.code, e.details]).toEqual([INVALID_ARGUMENT, `Expire is not positive in lock store ${STORE}`]);
    });

    it.each([
      ['empty resource_id', { resourceId: '', lockOwner: 'o', expire: 10 }, STORE, INVALID_ARGUMENT, `ResourceId is empty in lock store ${STORE}`],
      ['empty lock_owner', { resourceId: 'x', lockOwner: '', expire: 10 }, STORE, INVALID_ARGUMENT, `LockOwner is empty in lock store ${STORE}`],
      ['zero expire', { resourceId: 'x', lockOwner: 'o', expire: 0 }, STORE, INVALID_ARGUMENT, `Expire is not positive in lock store ${STORE}`],
      // Layotto checks the fields before the store: an empty owner on an unknown store names the owner.
      ['empty owner on an unknown store', { resourceId: 'x', lockOwner: '', expire: 10 }, 'nope', INVALID_ARGUMENT, 'LockOwner is empty in lock store nope'],
      ['unknown store', { resourceId: 'x', lockOwner: 'o', expire: 10 }, 'nope', INVALID_ARGUMENT, 'lock store nope not found'],
      ['|| in the resource id', { resourceId: 'a||b', lockOwner: 'o', expire: 10 }, STORE, UNKNOWN, "input key/keyPrefix 'a||b' can't contain '||'"],
    ])('TryLock refuses %s', async (_name, req, storeName, code, details) => {
      if (!enabled) return;
      const e = await rejection<grpc.ServiceError>(client.lock.tryLock({ storeName, ...req }));
      expect([e.code, e.details]).toEqual([code, details]);
    });

    it('one lock, three APIs: taken over Layotto, held over Dapr HTTP and gRPC, released over Dapr', async () => {
      if (!enabled) return;
      const rid = r('cross');
      expect(await client.lock.tryLock({ storeName: STORE, resourceId: rid, lockOwner: 'layotto-owner', expire: 30 })).toBe(true);
      expect(await post(sc.httpPort, `/v1.0-alpha1/lock/${STORE}`, { resourceId: rid, lockOwner: 'http-owner', expiryInSeconds: 30 })).toEqual({
        status: 200,
        body: { success: false },
      });
      expect(await dapr.lock.lock(STORE, rid, 'grpc-owner', 30)).toEqual({ success: false });
      expect(await post(sc.httpPort, `/v1.0-alpha1/unlock/${STORE}`, { resourceId: rid, lockOwner: 'http-owner' })).toEqual({ status: 200, body: { status: 2 } });
      expect(await post(sc.httpPort, `/v1.0-alpha1/unlock/${STORE}`, { resourceId: rid, lockOwner: 'layotto-owner' })).toEqual({ status: 200, body: { status: 0 } });
      // And back: taken over Dapr gRPC, held over Layotto.
      expect(await dapr.lock.lock(STORE, rid, 'grpc-owner', 30)).toEqual({ success: true });
      expect(await client.lock.tryLock({ storeName: STORE, resourceId: rid, lockOwner: 'layotto-owner', expire: 30 })).toBe(false);
      expect(await keepAlive(raw, { store_name: STORE, resource_id: rid, lock_owner: 'grpc-owner', expire: 30 })).toEqual({ status: SUCCESS });
      expect(await client.lock.unLock({ storeName: STORE, resourceId: rid, lockOwner: 'grpc-owner' })).toEqual({ status: SUCCESS });
    });
  });
}

describe('Layotto lock without a lock store', () => {
  let sc: Sidecar;
  let client: InstanceType<typeof Client>;
  beforeAll(async () => {
    sc = await startSidecar({ resources: {} });
    client = new Client(String(sc.layottoPort), '127.0.0.1');
  });
  afterAll(async () => {
    client.close();
    await sc.stop();
  });

  it('FAILED_PRECONDITION "lock store is not configured", checked before any field', async () => {
    for (const call of [
      client.lock.tryLock({ storeName: 'any', resourceId: '', lockOwner: '', expire: 0 }),
      client.lock.unLock({ storeName: 'any', resourceId: 'x', lockOwner: 'o' }),
    ]) {
      const e = await rejection<grpc.ServiceError>(call);
      expect([e.code, e.details]).toEqual([FAILED_PRECONDITION, 'lock store is not configured']);
    }
  });
});
