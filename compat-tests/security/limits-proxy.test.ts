// --max-concurrent-requests counts proxied gRPC calls (dapr-app-id on the Dapr gRPC port) with the
// API calls: with the slots held by proxied calls, another proxied call and a Dapr API call are both
// refused at once (UNAVAILABLE, the limit named), and once the held calls end both are admitted.
import { connect as h2connect, createServer, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { daprClientConstructor } from '../../src/api/dapr-grpc/protos';
import { until } from '../../test/wait';
import { type Sidecar, startSidecar } from '../helpers/sidecar';

const STARTUP_MS = 60_000;
const EMPTY_MESSAGE = Buffer.alloc(5); // one gRPC message of zero bytes

/** A gRPC app (raw h2) whose /t.S/Hold calls wait until release(). */
class HoldGrpcApp {
  private readonly waiting: ServerHttp2Stream[] = [];
  private server?: Http2Server;

  get held(): number {
    return this.waiting.length;
  }

  async start(): Promise<number> {
    this.server = createServer();
    this.server.on('stream', (stream, headers) => {
      stream.on('error', () => undefined);
      stream.resume();
      if (headers[':path'] !== '/t.S/Hold') return void stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' }, { endStream: true });
      this.waiting.push(stream);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }

  release(): void {
    for (const s of this.waiting.splice(0)) {
      if (s.destroyed) continue;
      s.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0' }));
      s.end(EMPTY_MESSAGE);
    }
  }

  async stop(): Promise<void> {
    this.release();
    await new Promise((r) => this.server?.close(r));
  }
}

/** One proxied unary call over raw h2: its grpc-status and grpc-message (headers or trailers). */
function proxiedCall(port: number, appId: string): Promise<{ status: string; message: string }> {
  const session = h2connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  return new Promise<{ status: string; message: string }>((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': '/t.S/Hold', 'content-type': 'application/grpc', te: 'trailers', 'dapr-app-id': appId });
    let found: { status: string; message: string } | undefined;
    const take = (h: Record<string, unknown>) => {
      if (h['grpc-status'] !== undefined) found = { status: String(h['grpc-status']), message: decodeURIComponent(String(h['grpc-message'] ?? '')) };
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('error', reject);
    req.resume();
    req.on('close', () => (found ? resolve(found) : reject(new Error('no grpc-status'))));
    req.end(EMPTY_MESSAGE);
  }).finally(() => session.close());
}

describe('--max-concurrent-requests and proxied gRPC calls', () => {
  const app = new HoldGrpcApp();
  let sc: Sidecar;

  beforeAll(async () => {
    const port = await app.start();
    sc = await startSidecar({ startupMs: STARTUP_MS, appId: 'capped', layotto: false, args: ['--app-port', String(port), '--app-protocol', 'grpc', '--max-concurrent-requests', '2'] });
  }, 3 * STARTUP_MS);
  afterAll(async () => {
    await sc?.stop();
    await app.stop();
  });

  const getMetadata = (client: grpc.Client) =>
    new Promise<grpc.ServiceError | null>((r) => (client as unknown as { GetMetadata: (q: unknown, cb: (e: grpc.ServiceError | null) => void) => void }).GetMetadata({}, r));

  it('proxied calls hold slots: beyond the cap both a proxied and an API call get UNAVAILABLE; admitted again after', async () => {
    const held = [proxiedCall(sc.grpcPort, 'capped'), proxiedCall(sc.grpcPort, 'capped')];
    await until(() => app.held === 2, () => `2 held calls, got ${app.held}`);
    const refused = await proxiedCall(sc.grpcPort, 'capped');
    expect(refused).toEqual({ status: String(grpc.status.UNAVAILABLE), message: 'too many requests in progress: the limit is 2 (--max-concurrent-requests)' });
    expect(app.held).toBe(2); // the refused call never reached the app
    const client = new (daprClientConstructor())(`127.0.0.1:${sc.grpcPort}`, grpc.credentials.createInsecure());
    try {
      expect((await getMetadata(client))?.code).toBe(grpc.status.UNAVAILABLE);
      app.release();
      expect((await Promise.all(held)).map((r) => r.status)).toEqual(['0', '0']);
      // The slots were given back when the streams closed.
      await until(async () => (await getMetadata(client)) === null, () => 'GetMetadata admitted again');
      const again = proxiedCall(sc.grpcPort, 'capped');
      await until(() => app.held === 1, () => 'a proxied call admitted again');
      app.release();
      expect((await again).status).toBe('0');
    } finally {
      client.close();
    }
  });

  it('a call the proxy refuses for another reason (unknown app) frees its slot too', async () => {
    for (let i = 0; i < 5; i++) expect((await proxiedCall(sc.grpcPort, 'a.b.c')).status).toBe(String(grpc.status.INVALID_ARGUMENT));
    const client = new (daprClientConstructor())(`127.0.0.1:${sc.grpcPort}`, grpc.credentials.createInsecure());
    try {
      expect(await getMetadata(client)).toBeNull();
    } finally {
      client.close();
    }
  });
});
