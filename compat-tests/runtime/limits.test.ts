// --max-body-size applies to every API of the binary: HTTP answers 413 ERR_BODY_READ, both gRPC
// servers refuse an oversized message with RESOURCE_EXHAUSTED, and the sidecar keeps serving.
import * as grpc from '@grpc/grpc-js';
import { daprClientConstructor } from '../../src/api/dapr-grpc/protos';
import { loadLayottoDefinition } from '../../src/api/layotto-grpc/protos';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';

type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res?: unknown) => void) => void;
const call = (client: grpc.Client, rpc: string, req: unknown) =>
  new Promise<grpc.ServiceError | null>((resolve) => ((client as unknown as Record<string, Unary>)[rpc]!).call(client, req, (err) => resolve(err)));

describe('--max-body-size on every API', () => {
  let sc: Sidecar;
  beforeAll(async () => {
    sc = await startSidecar({ resources: { 's.yaml': componentYaml('statestore', 'state.in-memory') }, args: ['--max-body-size', '16Ki'] });
  });
  afterAll(async () => {
    await sc.stop();
  });

  const big = 'x'.repeat(32 * 1024);

  it('HTTP: 413 ERR_BODY_READ over the limit, 204 under it', async () => {
    const over = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/state/statestore`, { method: 'POST', body: JSON.stringify([{ key: 'k', value: big }]) });
    expect(over.status).toBe(413);
    expect(((await over.json()) as { errorCode: string }).errorCode).toBe('ERR_BODY_READ');
    const ok = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/state/statestore`, { method: 'POST', body: JSON.stringify([{ key: 'k', value: 'small' }]) });
    expect(ok.status).toBe(204);
  });

  it('Dapr gRPC: RESOURCE_EXHAUSTED over the limit', async () => {
    const Client = daprClientConstructor();
    const client = new Client(`127.0.0.1:${sc.grpcPort}`, grpc.credentials.createInsecure());
    const err = await call(client, 'SaveState', { store_name: 'statestore', states: [{ key: 'k', value: Buffer.from(big) }] });
    expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(await call(client, 'SaveState', { store_name: 'statestore', states: [{ key: 'k', value: Buffer.from('small') }] })).toBeNull();
    client.close();
  });

  it('Layotto gRPC: RESOURCE_EXHAUSTED over the limit', async () => {
    const pkg = grpc.loadPackageDefinition(loadLayottoDefinition()) as unknown as { spec: { proto: { runtime: { v1: { Runtime: grpc.ServiceClientConstructor } } } } };
    const client = new pkg.spec.proto.runtime.v1.Runtime(`127.0.0.1:${sc.layottoPort}`, grpc.credentials.createInsecure());
    const err = await call(client, 'SaveState', { store_name: 'statestore', states: [{ key: 'k', value: Buffer.from(big) }] });
    expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    client.close();
    const health = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/healthz`);
    expect(health.status).toBe(204);
  });
});
