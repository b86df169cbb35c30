// Front-door limits of the built sidecar with small bounds set by flags: an oversized header gets
// 431 (not a crash); a client sending its headers byte by byte (slowloris), one that never finishes
// its body and an idle keep-alive connection are cut after their bound; a unary gRPC call whose
// request never comes is ended; --max-connections closes connections beyond the cap at once and
// takes new ones when old ones go; --max-concurrent-requests refuses calls beyond the cap (503 /
// UNAVAILABLE) and admits again once they finish; --app-max-concurrency still queues calls into the app.
import { connect as h2connect } from 'node:http2';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { daprClientConstructor } from '../../src/api/dapr-grpc/protos';
import { until } from '../../test/wait';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';

/** A sidecar's health deadline: several starting at once on a busy machine can take longer than the helper's 20 s. */
const STARTUP_MS = 60_000;

/** A raw TCP client: what it sent, what came back, and whether the server closed it. */
class Raw {
  readonly socket = new Socket();
  received = '';
  closed = false;
  readonly connected: Promise<void>;

  constructor(port: number, host = '127.0.0.1') {
    this.socket.on('data', (d) => (this.received += d.toString('latin1')));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => (this.closed = true));
    this.connected = new Promise((r) => this.socket.connect(port, host, r));
  }

  write(text: string): void {
    if (!this.closed) this.socket.write(text);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

const healthz = (sc: Sidecar) => fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/healthz`).then((r) => r.status);

describe('header size and slow clients', () => {
  let sc: Sidecar;
  const open: Raw[] = [];
  const raw = async (port = sc.httpPort, host?: string) => {
    const r = new Raw(port, host);
    open.push(r);
    await r.connected;
    return r;
  };

  beforeAll(async () => {
    sc = await startSidecar({
      startupMs: STARTUP_MS,
      resources: { 's.yaml': componentYaml('statestore', 'state.in-memory') },
      layotto: false,
      // A second HTTP listener (--dapr-listen-addresses adds 127.0.0.2 to the helper's 127.0.0.1): the same limits.
      args: ['--read-header-timeout', '1s', '--read-request-timeout', '2s', '--keep-alive-timeout', '1s', '--dapr-listen-addresses', '127.0.0.2'],
    });
  }, 3 * STARTUP_MS);
  afterAll(async () => {
    for (const r of open) r.destroy();
    await sc?.stop();
  });

  it('headers past --read-buffer-size (4 KiB, plus the 4 KiB Go lets through): 431 as Go words it, connection closed', async () => {
    const r = await raw();
    r.write(`GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n`);
    await until(() => r.closed, () => `closed, got ${JSON.stringify(r.received.slice(0, 100))}`, 5000);
    expect(r.received).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(r.received).toContain('Content-Type: text/plain; charset=utf-8');
    expect(r.received.endsWith('431 Request Header Fields Too Large')).toBe(true);
    // A 3 KiB header is fine, and the sidecar keeps serving.
    const ok = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/healthz`, { headers: { 'x-mid': 'a'.repeat(3000) } });
    expect(ok.status).toBe(204);
  });

  it('the second listener has the same header limit', async () => {
    const r = await raw(sc.httpPort, '127.0.0.2');
    r.write(`GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n`);
    await until(() => r.closed, () => 'closed', 5000);
    expect(r.received).toMatch(/^HTTP\/1\.1 431 /);
  });

  it.each([['127.0.0.1'], ['127.0.0.2']])('a client sending its headers byte by byte is cut after --read-header-timeout (%s)', async (host) => {
    const r = await raw(sc.httpPort, host);
    r.write('GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => r.write('X'), 100);
    try {
      // Bound 1 s (checked every 250 ms): well within the wait below, which only bounds the test.
      await until(() => r.closed, () => 'the slow client still connected', 10_000);
    } finally {
      clearInterval(drip);
    }
    expect(r.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(await healthz(sc)).toBe(204);
  });

  it('a body that never finishes is cut after --read-request-timeout; nothing is stored', async () => {
    const r = await raw();
    r.write('POST /v1.0/state/statestore HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[{"key":"stalled","value":');
    await until(() => r.closed, () => 'the stalled upload still connected', 10_000);
    expect(r.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect((await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/state/statestore/stalled`)).status).toBe(204);
  });

  it('an idle keep-alive connection is closed after --keep-alive-timeout', async () => {
    const r = await raw();
    r.write('GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => r.received.includes('\r\n\r\n'), () => 'an answer', 5000);
    expect(r.received).toMatch(/^HTTP\/1\.1 204 /);
    expect(r.closed).toBe(false);
    await until(() => r.closed, () => 'the idle connection still open', 10_000);
  });

  it('a unary gRPC call whose request message never comes is ended with DEADLINE_EXCEEDED', async () => {
    const session = h2connect(`http://127.0.0.1:${sc.grpcPort}`);
    session.on('error', () => undefined);
    try {
      const status = await new Promise<Record<string, unknown>>((resolve) => {
        const req = session.request({ ':method': 'POST', ':path': '/dapr.proto.runtime.v1.Dapr/GetMetadata', 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false });
        let head: Record<string, unknown> = {};
        // A trailers-only answer carries the status in its headers.
        req.on('response', (h) => (h['grpc-status'] !== undefined ? resolve({ ...h }) : (head = { ...h })));
        req.on('trailers', (t) => resolve({ ...head, ...t }));
        req.on('end', () => resolve(head));
        req.on('close', () => resolve(head));
        req.on('error', () => undefined);
        req.resume();
      });
      expect(status['grpc-status']).toBe(String(grpc.status.DEADLINE_EXCEEDED));
      expect(decodeURIComponent(String(status['grpc-message']))).toMatch(/--read-request-timeout/);
    } finally {
      session.destroy();
    }
    expect(await healthz(sc)).toBe(204);
  });
});

/** An HTTP app whose /hold calls wait until release(); `held` counts those waiting now. */
class HoldApp {
  private readonly waiting: ServerResponse[] = [];
  private server?: Server;
  seen = 0;

  get held(): number {
    return this.waiting.length;
  }

  async start(): Promise<number> {
    this.server = createServer((req, res) => {
      req.resume();
      if (req.url !== '/hold') return void res.writeHead(404).end();
      this.seen++;
      this.waiting.push(res);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }

  release(): void {
    for (const res of this.waiting.splice(0)) res.writeHead(200, { 'content-type': 'application/json' }).end('{"released":true}');
  }

  async stop(): Promise<void> {
    this.release();
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}

describe('--max-concurrent-requests and --app-max-concurrency', () => {
  const app = new HoldApp();
  let capped: Sidecar;
  let queued: Sidecar;
  const hold = (sc: Sidecar, appId: string) => fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/invoke/${appId}/method/hold`, { method: 'POST' });

  beforeAll(async () => {
    const port = await app.start();
    capped = await startSidecar({ startupMs: STARTUP_MS, appId: 'capped', layotto: false, args: ['--app-port', String(port), '--max-concurrent-requests', '2'] });
    queued = await startSidecar({ startupMs: STARTUP_MS, appId: 'queued', layotto: false, args: ['--app-port', String(port), '--app-max-concurrency', '1'] });
  }, 3 * STARTUP_MS);
  afterAll(async () => {
    await capped?.stop();
    await queued?.stop();
    await app.stop();
  });

  it('a call beyond the cap is refused at once (503 ERR_TOO_MANY_REQUESTS / UNAVAILABLE); health stays open; admitted again after', async () => {
    const first = [hold(capped, 'capped'), hold(capped, 'capped')];
    await until(() => app.held === 2, () => `2 held calls, got ${app.held}`);
    const refused = await hold(capped, 'capped');
    expect([refused.status, refused.headers.get('retry-after')]).toEqual([503, '1']);
    expect(await refused.json()).toEqual({ errorCode: 'ERR_TOO_MANY_REQUESTS', message: 'too many requests in progress: the limit is 2 (--max-concurrent-requests)' });
    const client = new (daprClientConstructor())(`127.0.0.1:${capped.grpcPort}`, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError | null>((r) => (client as unknown as { GetMetadata: (q: unknown, cb: (e: grpc.ServiceError | null) => void) => void }).GetMetadata({}, r));
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(await healthz(capped)).toBe(204);
    app.release();
    expect((await Promise.all(first)).map((r) => r.status)).toEqual([200, 200]);
    expect(app.seen).toBe(2);
    const again = await new Promise<grpc.ServiceError | null>((r) => (client as unknown as { GetMetadata: (q: unknown, cb: (e: grpc.ServiceError | null) => void) => void }).GetMetadata({}, r));
    expect(again).toBeNull();
    client.close();
  });

  it('--app-max-concurrency 1 queues the second call into the app until the first is answered', async () => {
    app.seen = 0;
    const calls = [hold(queued, 'queued'), hold(queued, 'queued')];
    await until(() => app.held === 1, () => 'one held call');
    await new Promise((r) => setTimeout(r, 300));
    expect(app.seen).toBe(1); // the second waits in the sidecar
    app.release();
    await until(() => app.held === 1 && app.seen === 2, () => `the second call reached the app (seen ${app.seen})`);
    app.release();
    expect((await Promise.all(calls)).map((r) => r.status)).toEqual([200, 200]);
  });
});

describe('--max-connections', () => {
  let sc: Sidecar;
  const open: Raw[] = [];

  beforeAll(async () => {
    // A short keep-alive so the readiness poll's connection is gone before the cases count.
    sc = await startSidecar({ startupMs: STARTUP_MS, layotto: false, args: ['--max-connections', '3', '--keep-alive-timeout', '500ms'] });
  }, 3 * STARTUP_MS);
  afterAll(async () => {
    for (const r of open) r.destroy();
    await sc?.stop();
  });

  const connectRaw = async (port: number) => {
    const r = new Raw(port);
    open.push(r);
    await r.connected;
    return r;
  };
  const answered = (r: Raw) => until(() => r.received.includes('\r\n\r\n') || r.closed, () => 'an answer', 5000).then(() => r.received.slice(0, 12));

  it('HTTP: a connection beyond the cap is closed at once; the others are served; a new one is taken when one goes', async () => {
    await new Promise((r) => setTimeout(r, 1000)); // the readiness poll's idle connection times out
    // Three connections in the middle of a request (not idle, so no keep-alive timeout applies).
    const three = [await connectRaw(sc.httpPort), await connectRaw(sc.httpPort), await connectRaw(sc.httpPort)];
    for (const r of three) r.write('GET /v1.0/healthz HTTP/1.1\r\n');
    const fourth = await connectRaw(sc.httpPort);
    fourth.write('GET /v1.0/healthz HTTP/1.1\r\n');
    await until(() => fourth.closed, () => 'the fourth connection closed', 5000);
    expect(fourth.received).toBe('');
    for (const r of three) r.write('Host: x\r\n\r\n');
    expect(await Promise.all(three.map(answered))).toEqual(['HTTP/1.1 204', 'HTTP/1.1 204', 'HTTP/1.1 204']);
    three[0]!.destroy();
    await until(async () => {
      const r = await connectRaw(sc.httpPort);
      r.write('GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      return (await answered(r)) === 'HTTP/1.1 204';
    }, () => 'a new connection served', 5000);
    for (const r of open.splice(0)) r.destroy();
  });

  it('gRPC: a connection beyond the cap is closed at once; a new one is taken when one goes', async () => {
    /** Speaks the HTTP/2 preface: true when the server answered (its SETTINGS), false when it closed the connection. */
    const taken = async () => {
      const r = await connectRaw(sc.grpcPort);
      r.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
      await until(() => r.closed || r.received.length > 0, () => 'an answer or a close', 5000);
      return r.received.length > 0 && !r.closed;
    };
    const results: boolean[] = [];
    for (let i = 0; i < 4; i++) results.push(await taken());
    expect(results).toEqual([true, true, true, false]);
    open[0]!.destroy();
    await until(taken, () => 'a new connection taken', 5000);
    for (const r of open.splice(0)) r.destroy();
    expect(await healthz(sc)).toBe(204);
  });
});
