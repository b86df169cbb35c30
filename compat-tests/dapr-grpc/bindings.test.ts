// Output bindings on the built sidecar over Dapr gRPC, through the real @dapr/dapr DaprClient
// (client.binding.send over ConnectRPC), plus a grpc-js client where the SDK hides the wire (the
// metadata.* response headers daprd sends, on failures too): bindings.http, localstorage, redis
// and postgres against real targets, and daprd's Internal status for every failure.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr';
import { daprClientConstructor } from '../../src/api/dapr-grpc/protos';
import { bindingSetup, type BindingSetup, httpTarget } from '../helpers/output-bindings';
import { type Sidecar, startSidecar } from '../helpers/sidecar';

const INTERNAL = 13;
const text = (d: Uint8Array | undefined) => Buffer.from(d ?? []).toString();

interface SentOverGrpc {
  data: Uint8Array;
  metadata: Record<string, string>;
}

async function rejection(p: Promise<unknown>): Promise<{ code?: number; rawMessage?: string }> {
  const e = await p.then(() => undefined, (x: { code?: number; rawMessage?: string }) => x);
  if (!e) throw new Error('expected the call to fail');
  return e;
}

interface RawAnswer {
  err: grpc.ServiceError | null;
  res?: { data: Buffer; metadata: Record<string, string> };
  headers: Record<string, unknown>;
}

describe('Dapr gRPC output bindings via @dapr/dapr SDK', () => {
  const target = httpTarget();
  let setup: BindingSetup;
  let sc: Sidecar;
  let client: DaprClient;
  let raw: grpc.Client;
  const send = (name: string, operation: string, data?: unknown, metadata: Record<string, string> = {}) => client.binding.send(name, operation, data, metadata) as Promise<SentOverGrpc>;

  /** InvokeBinding through grpc-js, keeping the response headers. */
  const rawInvoke = (req: { name: string; operation: string; data?: Buffer; metadata?: Record<string, string> }, md = new grpc.Metadata()) =>
    new Promise<RawAnswer>((resolve) => {
      let headers: Record<string, unknown> = {};
      const call = (raw as unknown as Record<string, (r: unknown, m: grpc.Metadata, cb: (e: grpc.ServiceError | null, r: RawAnswer['res']) => void) => grpc.ClientUnaryCall>)
        .InvokeBinding!.call(raw, { data: Buffer.alloc(0), metadata: {}, ...req }, md, (err, res) => resolve({ err, res, headers }));
      call.on('metadata', (m: grpc.Metadata) => (headers = m.toJSON()));
    });

  beforeAll(async () => {
    await target.start();
    setup = await bindingSetup(target);
    sc = await startSidecar({ resources: setup.resources });
    client = new DaprClient({ daprHost: '127.0.0.1', daprPort: String(sc.grpcPort), communicationProtocol: CommunicationProtocolEnum.GRPC, logger: { level: LogLevel.Error } });
    await client.start();
    const Dapr = daprClientConstructor();
    raw = new Dapr(`127.0.0.1:${sc.grpcPort}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    raw?.close();
    await client?.stop().catch(() => undefined);
    await sc?.stop();
    await target.stop();
  });

  describe('bindings.http', () => {
    it('sends the bytes as given; answers the body and the metadata', async () => {
      const res = await send('web', 'post', { a: 1 }, { path: 'items' });
      expect(target.last()).toMatchObject({ method: 'POST', url: '/base/items', text: '{"a":1}' });
      expect(JSON.parse(text(res.data))).toEqual({ method: 'POST', url: '/base/items', body: '{"a":1}' });
      expect(res.metadata).toMatchObject({ statusCode: '200', status: '200 OK', 'X-Target': 'yes' });
      expect(target.last().headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    });

    it('response metadata also come as metadata.* headers, on a failure too; the call’s traceparent travels', async () => {
      const md = new grpc.Metadata();
      md.set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
      const ok = await rawInvoke({ name: 'web', operation: 'get' }, md);
      expect(ok.err).toBeNull();
      expect(ok.headers).toMatchObject({ 'metadata.statuscode': ['200'], 'metadata.x-target': ['yes'] });
      expect(target.last().headers.traceparent).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
      const failed = await rawInvoke({ name: 'web', operation: 'get', metadata: { path: 'status/500' } });
      expect(failed.err?.code).toBe(INTERNAL);
      expect(failed.err?.details).toBe('error invoking output binding web: received status code 500');
      expect(failed.headers).toMatchObject({ 'metadata.statuscode': ['500'] });
    });

    it('a target that is down is Internal with Go’s dial error; the sidecar keeps serving', async () => {
      const e = await rejection(send('down', 'create', 'x'));
      expect(e.code).toBe(INTERNAL);
      expect(e.rawMessage).toMatch(/^error invoking output binding down: Post "http:\/\/127\.0\.0\.1:\d+": dial tcp 127\.0\.0\.1:\d+: connect: connection refused$/);
      expect((await send('web', 'get')).metadata).toMatchObject({ statusCode: '200' });
    });
  });

  describe('bindings.localstorage', () => {
    it('create, get, list, delete; names leaving rootPath are refused', async () => {
      const created = await send('files', 'create', 'plain text', { fileName: 'g.txt' });
      expect(text(created.data)).toBe('{"fileName":"g.txt"}');
      expect(text((await send('files', 'get', undefined, { fileName: 'g.txt' })).data)).toBe('plain text');
      expect(JSON.parse(text((await send('files', 'list')).data))).toContain(join(setup.root, 'g.txt'));
      const del = await send('files', 'delete', undefined, { fileName: 'g.txt' });
      expect(text(del.data)).toBe('');
      expect(existsSync(join(setup.root, 'g.txt'))).toBe(false);
      const e = await rejection(send('files', 'create', 'x', { fileName: '../../etc/evil' }));
      expect(e.code).toBe(INTERNAL);
      expect(e.rawMessage).toBe('error invoking output binding files: error getting absolute path for file ../../etc/evil: path escapes rootPath');
    });
  });

  describe('bindings.redis and bindings.postgres', () => {
    it('redis create/get/delete', async () => {
      if (!setup.redis) return;
      const key = `compat-grpc-binding-${randomUUID()}`;
      await send('cache', 'create', 'v1', { key, ttlInSeconds: '60' });
      expect(text((await send('cache', 'get', undefined, { key, delete: 'true' })).data)).toBe('v1');
      expect(text((await send('cache', 'get', undefined, { key })).data)).toBe('');
    });

    it('postgres query with params', async () => {
      if (!setup.postgres) return;
      const res = await send('db', 'query', undefined, { sql: 'SELECT $1::int + 1, $2::text', params: '[41, "x"]' });
      expect(text(res.data)).toBe('[[42,"x"]]');
      expect(res.metadata).toMatchObject({ operation: 'query', sql: 'SELECT $1::int + 1, $2::text' });
    });
  });

  it('unknown binding and unsupported operation are Internal with daprd’s texts', async () => {
    const unknown = await rejection(send('nope', 'create', 'x'));
    expect(unknown).toMatchObject({ code: INTERNAL, rawMessage: "error invoking output binding nope: couldn't find output binding nope" });
    const op = await rejection(send('web', 'exec', 'x'));
    expect(op.rawMessage).toBe('error invoking output binding web: binding web does not support operation exec. supported operations:create get head post put patch delete options trace');
  });
});
