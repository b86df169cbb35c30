// The built sidecar driven by the real @dapr/dapr SDK over HTTP, on the in-memory store and, when
// Redis runs and state.redis is registered, on Redis with the same cases. Raw fetch checks cover
// the status codes and headers the SDK hides.
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr';
import { registered, STATE_BACKENDS as BACKENDS } from '../helpers/backends';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';

const STORE = 'statestore';
const run = `${Date.now().toString(36)}-${process.pid}`;

/** The SDK logs every failed call it turns into `{error}`; the failures here are expected. */
const quiet = () => undefined;
const SILENT = { level: LogLevel.Error, service: { error: quiet, warn: quiet, info: quiet, verbose: quiet, debug: quiet } };

/** The HTTP SDK throws Error(JSON.stringify({error, error_msg, status})) for non-2xx answers. */
function sdkError(e: unknown): { status: number; body: { errorCode: string; message: string } } {
  const parsed = JSON.parse((e as Error).message) as { status: number; error_msg: string };
  return { status: parsed.status, body: JSON.parse(parsed.error_msg) };
}

for (const backend of BACKENDS) {
  (registered(backend.type) ? describe : describe.skip)(`Dapr HTTP state via @dapr/dapr SDK on ${backend.type}`, () => {
    let enabled = false;
    let sc: Sidecar;
    let client: DaprClient;
    let base: string;
    const k = (name: string) => `http-${backend.type}-${name}-${run}`;
    /** Runs only when the backend answered (requireService already printed the skip). */
    const it_ = (name: string, fn: () => Promise<void>) => it(name, async () => (enabled ? fn() : undefined));

    beforeAll(async () => {
      enabled = await backend.reachable();
      if (!enabled) return;
      sc = await startSidecar({ resources: { 'state.yaml': componentYaml(STORE, backend.type, backend.metadata) } });
      base = `http://127.0.0.1:${sc.httpPort}`;
      client = new DaprClient({
        daprHost: '127.0.0.1',
        daprPort: String(sc.httpPort),
        communicationProtocol: CommunicationProtocolEnum.HTTP,
        logger: SILENT,
      });
      await client.start();
    });

    afterAll(async () => {
      if (!enabled) return;
      await client.stop().catch(() => undefined);
      await sc.stop();
    });

    it_('save, get and delete', async () => {
      const res = await client.state.save(STORE, [
        { key: k('obj'), value: { name: 'ada', n: 1 } },
        { key: k('str'), value: 'hello' },
        { key: k('num'), value: 42 },
      ]);
      expect(res.error).toBeUndefined();
      expect(await client.state.get(STORE, k('obj'))).toEqual({ name: 'ada', n: 1 });
      expect(await client.state.get(STORE, k('str'))).toBe('hello');
      expect(await client.state.get(STORE, k('num'))).toBe(42);
      expect((await client.state.delete(STORE, k('obj'))).error).toBeUndefined();
      expect(await client.state.get(STORE, k('obj'))).toBe(''); // the SDK's rendering of 204
    });

    it_('getBulk returns data, etags and entries for missing keys', async () => {
      await client.state.save(STORE, [
        { key: k('b1'), value: { v: 1 } },
        { key: k('b2'), value: 'two' },
      ]);
      const items = await client.state.getBulk(STORE, [k('b1'), k('b2'), k('missing')]);
      const byKey = Object.fromEntries(items.map((i) => [i.key, i]));
      expect(byKey[k('b1')]).toMatchObject({ data: { v: 1 }, etag: expect.any(String) });
      expect(byKey[k('b2')]).toMatchObject({ data: 'two' });
      expect(byKey[k('missing')]).toEqual({ key: k('missing') });
    });

    it_('transaction applies upserts and deletes', async () => {
      await client.state.save(STORE, [{ key: k('tx-old'), value: 1 }]);
      await client.state.transaction(STORE, [
        { operation: 'upsert', request: { key: k('tx-new'), value: { ok: true } } },
        { operation: 'delete', request: { key: k('tx-old') } },
      ]);
      expect(await client.state.get(STORE, k('tx-new'))).toEqual({ ok: true });
      expect(await client.state.get(STORE, k('tx-old'))).toBe('');
    });

    it_('ETag: a save or delete with a wrong etag fails with 409, the right one succeeds', async () => {
      await client.state.save(STORE, [{ key: k('etag'), value: 'v1' }]);
      const [item] = await client.state.getBulk(STORE, [k('etag')]);
      const etag = item!.etag as string;
      const wrong = String(Number(etag) + 1000);

      const bad = await client.state.save(STORE, [{ key: k('etag'), value: 'v2', etag: wrong }]);
      expect(bad.error).toBeDefined();
      expect(sdkError(bad.error)).toMatchObject({ status: 409, body: { errorCode: 'ERR_STATE_SAVE' } });
      const badDelete = await client.state.delete(STORE, k('etag'), { etag: wrong });
      expect(sdkError(badDelete.error)).toMatchObject({ status: 409, body: { errorCode: 'ERR_STATE_DELETE' } });
      // The SDK types a transaction etag as {value}; daprd's HTTP API wants a string and refuses
      // the object with 400, so the conflict is checked with a string etag over raw HTTP.
      const sdkTx = await client.state
        .transaction(STORE, [{ operation: 'upsert', request: { key: k('etag'), value: 'v3', etag: { value: etag } } }])
        .catch((e: unknown) => e);
      expect(sdkError(sdkTx)).toMatchObject({ status: 400, body: { errorCode: 'ERR_MALFORMED_REQUEST' } });
      const badTx = await fetch(`${base}/v1.0/state/${STORE}/transaction`, {
        method: 'POST',
        body: JSON.stringify({ operations: [{ operation: 'upsert', request: { key: k('etag'), value: 'v3', etag: wrong } }] }),
      });
      expect(badTx.status).toBe(500); // daprd answers 500 for every failed transaction, ETag ones included
      expect(((await badTx.json()) as { errorCode: string }).errorCode).toBe('ERR_STATE_TRANSACTION');

      expect((await client.state.save(STORE, [{ key: k('etag'), value: 'v2', etag }])).error).toBeUndefined();
      expect(await client.state.get(STORE, k('etag'))).toBe('v2');
    });

    it_('TTL: an item saved with ttlInSeconds expires', async () => {
      await client.state.save(STORE, [{ key: k('ttl'), value: 'short', metadata: { ttlInSeconds: '1' } }]);
      await client.state.save(STORE, [{ key: k('ttl-opt'), value: 'short' }], { metadata: { ttlInSeconds: '1' } });
      expect(await client.state.get(STORE, k('ttl'))).toBe('short');
      const r = await fetch(`${base}/v1.0/state/${STORE}/${k('ttl')}`);
      expect(r.headers.get('metadata.ttlexpiretime')).toMatch(/^\d{4}-\d\d-\d\dT/);
      await new Promise((res) => setTimeout(res, 2100));
      expect(await client.state.get(STORE, k('ttl'))).toBe('');
      expect(await client.state.get(STORE, k('ttl-opt'))).toBe('');
    });

    describe('raw HTTP', () => {
      const post = (path: string, body: string, method = 'POST') => fetch(`${base}${path}`, { method, body, headers: { 'content-type': 'application/json' } });
      const expectErr = async (r: Response, status: number, errorCode: string) => {
        expect(r.status).toBe(status);
        expect(r.headers.get('content-type')).toBe('application/json');
        expect(((await r.json()) as { errorCode: string }).errorCode).toBe(errorCode);
      };

      it_('GET returns the stored JSON bytes, ETag and application/json; 204 when missing', async () => {
        await post(`/v1.0/state/${STORE}`, JSON.stringify([{ key: k('raw'), value: { a: 1 } }]));
        const r = await fetch(`${base}/v1.0/state/${STORE}/${k('raw')}`);
        expect(r.status).toBe(200);
        expect(r.headers.get('content-type')).toBe('application/json');
        expect(r.headers.get('etag')).toBeTruthy();
        const text = await r.text();
        // PostgreSQL keeps JSON as jsonb, which re-renders it ({"a": 1}), exactly as with daprd.
        if (backend.type === 'state.postgresql') expect(JSON.parse(text)).toEqual({ a: 1 });
        else expect(text).toBe('{"a":1}');
        const missing = await fetch(`${base}/v1.0/state/${STORE}/${k('nope')}`);
        expect(missing.status).toBe(204);
      });

      it_('save and delete answer 204', async () => {
        expect((await post(`/v1.0/state/${STORE}`, JSON.stringify([{ key: k('s'), value: 1 }]))).status).toBe(204);
        expect((await post(`/v1.0/state/${STORE}`, '[]', 'PUT')).status).toBe(204);
        expect((await fetch(`${base}/v1.0/state/${STORE}/${k('s')}`, { method: 'DELETE' })).status).toBe(204);
      });

      it_('bad input gets daprd error codes', async () => {
        await expectErr(await post(`/v1.0/state/${STORE}`, '[{"key":'), 400, 'ERR_MALFORMED_REQUEST');
        await expectErr(await post(`/v1.0/state/${STORE}`, '{"key":"k"}'), 400, 'ERR_MALFORMED_REQUEST');
        await expectErr(await post(`/v1.0/state/${STORE}`, '[{"value":1}]'), 400, 'ERR_MALFORMED_REQUEST');
        await expectErr(await post(`/v1.0/state/${STORE}`, '[{"key":"a||b","value":1}]'), 400, 'ERR_MALFORMED_REQUEST');
        await expectErr(await post(`/v1.0/state/nope`, '[]'), 400, 'ERR_STATE_STORE_NOT_FOUND');
        await expectErr(await fetch(`${base}/v1.0/state/nope/k`), 400, 'ERR_STATE_STORE_NOT_FOUND');
        await expectErr(await post(`/v1.0/state/${STORE}/transaction`, '{"operations":[{"operation":"merge","request":{"key":"k"}}]}'), 400, 'ERR_NOT_SUPPORTED_STATE_OPERATION');
        await expectErr(await post(`/v1.0/state/${STORE}`, JSON.stringify([{ key: k('e'), value: 1, etag: 'not-a-number' }])), 400, 'ERR_STATE_SAVE');
      });

      it_('unknown paths and wrong verbs fall back to invocation: 404 ERR_DIRECT_INVOKE', async () => {
        await expectErr(await fetch(`${base}/v1.0/nothing`), 404, 'ERR_DIRECT_INVOKE');
        await expectErr(await fetch(`${base}/v1.0/state/${STORE}`, { method: 'PATCH' }), 404, 'ERR_DIRECT_INVOKE');
      });

      it_('a body over --max-body-size is refused with 413', async () => {
        const big = JSON.stringify([{ key: k('big'), value: 'x'.repeat(5 * 1024 * 1024) }]);
        await expectErr(await post(`/v1.0/state/${STORE}`, big), 413, 'ERR_BODY_READ');
      });
    });
  });
}
