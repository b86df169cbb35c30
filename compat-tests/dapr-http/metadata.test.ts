// Metadata, health and shutdown on the built sidecar, through the real @dapr/dapr SDK over HTTP
// and raw fetch for what the SDK does not show.
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';

const newClient = (sc: Sidecar) =>
  new DaprClient({
    daprHost: '127.0.0.1',
    daprPort: String(sc.httpPort),
    communicationProtocol: CommunicationProtocolEnum.HTTP,
    logger: { level: LogLevel.Error },
  });

describe('Dapr HTTP metadata and health via @dapr/dapr SDK', () => {
  let sc: Sidecar;
  let client: DaprClient;
  let base: string;

  beforeAll(async () => {
    sc = await startSidecar({ appId: 'meta-app', resources: { 'state.yaml': componentYaml('statestore', 'state.in-memory') } });
    base = `http://127.0.0.1:${sc.httpPort}`;
    client = newClient(sc);
    await client.start();
  });

  afterAll(async () => {
    await client.stop().catch(() => undefined);
    await sc.stop();
  });

  it('metadata.get returns the app id, runtime version and components with capabilities', async () => {
    const md = await client.metadata.get();
    expect(md.id).toBe('meta-app');
    expect(md.components).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'statestore', type: 'state.in-memory', version: 'v1', capabilities: expect.arrayContaining(['ETAG', 'TRANSACTIONAL', 'TTL']) })]),
    );
    const raw = await fetch(`${base}/v1.0/metadata`);
    expect(raw.headers.get('content-type')).toBe('application/json');
    const body = (await raw.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ runtimeVersion: expect.any(String), extended: { daprRuntimeVersion: expect.any(String) } });
    expect(body).not.toHaveProperty('subscriptions'); // empty fields are omitted, as daprd's encoder does
  });

  it('metadata.set stores a value that shows up in extended', async () => {
    expect(await client.metadata.set('testKey', 'testValue')).toBe(true);
    expect((await client.metadata.get()).extended).toMatchObject({ testKey: 'testValue' });
    const r = await fetch(`${base}/v1.0/metadata/rawKey`, { method: 'PUT', body: 'raw value' });
    expect(r.status).toBe(204);
    expect((await client.metadata.get()).extended).toMatchObject({ rawKey: 'raw value' });
  });

  it('healthz and healthz/outbound answer 204; a wrong ?appid answers 500', async () => {
    expect(await client.health.isHealthy()).toBe(true);
    expect((await fetch(`${base}/v1.0/healthz`)).status).toBe(204);
    expect((await fetch(`${base}/v1.0/healthz/outbound`)).status).toBe(204);
    expect((await fetch(`${base}/v1.0/healthz?appid=meta-app`)).status).toBe(204);
    const bad = await fetch(`${base}/v1.0/healthz?appid=other`);
    expect(bad.status).toBe(500);
    expect(((await bad.json()) as { errorCode: string }).errorCode).toBe('ERR_HEALTH_APPID_NOT_MATCH');
  });
});

describe('Dapr HTTP shutdown via @dapr/dapr SDK', () => {
  it('sidecar.shutdown gets 204 and the process exits cleanly', async () => {
    const sc = await startSidecar({ resources: { 'state.yaml': componentYaml('statestore', 'state.in-memory') } });
    try {
      const client = newClient(sc);
      await client.start();
      await client.sidecar.shutdown();
      expect(await sc.exited).toBe(0);
    } finally {
      await sc.stop('SIGKILL');
    }
  });

  it('raw POST /v1.0/shutdown answers 204', async () => {
    const sc = await startSidecar({ resources: { 'state.yaml': componentYaml('statestore', 'state.in-memory') } });
    try {
      const r = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/shutdown`, { method: 'POST' });
      expect(r.status).toBe(204);
      expect(await sc.exited).toBe(0);
    } finally {
      await sc.stop('SIGKILL');
    }
  });
});
