// gRPC header lists are capped as daprd caps them (grpc.MaxHeaderListSize(--read-buffer-size), 4 KiB
// by default) on the Dapr gRPC, Layotto gRPC and internal ports: a larger list is answered with
// RESOURCE_EXHAUSTED naming the limit (not a dropped connection), and the same connection then
// serves a call within the limit. --read-buffer-size raises the cap.
import { type ClientHttp2Session, connect as h2connect } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { daprClientConstructor } from '../../src/api/dapr-grpc/protos';
import { freePort, type Sidecar, startSidecar } from '../helpers/sidecar';

const STARTUP_MS = 60_000;

/** One raw gRPC call: its grpc-status and grpc-message (from headers or trailers). */
function call(session: ClientHttp2Session, path: string, extra: Record<string, string>): Promise<{ status?: string; message: string }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...extra });
    let found: { status?: string; message: string } = { message: '' };
    const take = (h: Record<string, unknown>) => {
      if (h['grpc-status'] !== undefined) found = { status: String(h['grpc-status']), message: decodeURIComponent(String(h['grpc-message'] ?? '')) };
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('error', reject);
    req.on('close', () => resolve(found));
    req.resume();
    req.end(Buffer.alloc(5)); // one empty message
  });
}

const METADATA = '/dapr.proto.runtime.v1.Dapr/GetMetadata';
const RESOURCE_EXHAUSTED = String(grpc.status.RESOURCE_EXHAUSTED);

describe('gRPC header list cap (default --read-buffer-size, 4 KiB)', () => {
  let sc: Sidecar;
  let internalPort: number;
  const sessions: ClientHttp2Session[] = [];
  const open = (port: number) => {
    const s = h2connect(`http://127.0.0.1:${port}`);
    s.on('error', () => undefined);
    sessions.push(s);
    return s;
  };

  beforeAll(async () => {
    internalPort = await freePort();
    sc = await startSidecar({ startupMs: STARTUP_MS, appId: 'meta', args: ['--dapr-internal-grpc-port', String(internalPort)] });
  }, 3 * STARTUP_MS);
  afterAll(async () => {
    for (const s of sessions) s.destroy();
    await sc?.stop();
  });

  it.each([
    ['Dapr gRPC', () => sc.grpcPort, METADATA],
    ['Layotto gRPC', () => sc.layottoPort, '/spec.proto.runtime.v1.Runtime/SayHello'],
    ['internal', () => internalPort, '/dapr.proto.internals.v1.ServiceInvocation/CallLocal'],
  ])('%s: a 5 KiB header list gets RESOURCE_EXHAUSTED naming the limit; the connection then serves a 3 KiB one', async (_name, port, path) => {
    const session = open(port());
    const refused = await call(session, path, { 'x-big': 'a'.repeat(5000) });
    expect(refused.status).toBe(RESOURCE_EXHAUSTED);
    expect(refused.message).toMatch(/^header list of \d+ bytes exceeds the maximum size \(4096 bytes, --read-buffer-size\)$/);
    const ok = await call(session, path, { 'x-mid': 'a'.repeat(3000) });
    expect(ok.status).not.toBe(RESOURCE_EXHAUSTED);
    expect(session.closed || session.destroyed).toBe(false);
  });

  it('many small entries count as one list (as HTTP/2 counts it: name + value + 32 each)', async () => {
    const extra: Record<string, string> = {};
    for (let i = 0; i < 100; i++) extra[`x-m${i}`] = 'v'.repeat(10); // 100 × (5 + 10 + 32) > 4096
    expect((await call(open(sc.grpcPort), METADATA, extra)).status).toBe(RESOURCE_EXHAUSTED);
  });

  it('a proxied call (dapr-app-id) is capped before the proxy takes it', async () => {
    const r = await call(open(sc.grpcPort), '/t.S/M', { 'dapr-app-id': 'meta', 'x-big': 'a'.repeat(5000) });
    expect(r.status).toBe(RESOURCE_EXHAUSTED);
  });

  it('a grpc-js client sees the status', async () => {
    const client = new (daprClientConstructor())(`127.0.0.1:${sc.grpcPort}`, grpc.credentials.createInsecure());
    try {
      const md = new grpc.Metadata();
      md.set('x-big', 'a'.repeat(5000));
      const err = await new Promise<grpc.ServiceError | null>((r) => (client as unknown as { GetMetadata: (q: unknown, m: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => void }).GetMetadata({}, md, r));
      expect(err?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(err?.details).toMatch(/4096 bytes, --read-buffer-size/);
    } finally {
      client.close();
    }
  });
});

describe('--read-buffer-size 16Ki raises the gRPC header list cap', () => {
  let sc: Sidecar;
  beforeAll(async () => {
    sc = await startSidecar({ startupMs: STARTUP_MS, layotto: false, args: ['--read-buffer-size', '16Ki'] });
  }, 3 * STARTUP_MS);
  afterAll(async () => {
    await sc?.stop();
  });

  it('10 KiB passes, 20 KiB is refused', async () => {
    const session = h2connect(`http://127.0.0.1:${sc.grpcPort}`);
    session.on('error', () => undefined);
    try {
      expect((await call(session, METADATA, { 'x-big': 'a'.repeat(10_000) })).status).toBe('0');
      const r = await call(session, METADATA, { 'x-big': 'a'.repeat(20_000) });
      expect([r.status, r.message.includes('(16384 bytes, --read-buffer-size)')]).toEqual([RESOURCE_EXHAUSTED, true]);
    } finally {
      session.destroy();
    }
  });
});
