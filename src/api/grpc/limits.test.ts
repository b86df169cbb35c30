import { connect, type ClientHttp2Session } from 'node:http2';
import { Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { echoClient, echoService, type Msg } from '../../../test/grpc-echo';
import { capConnections, grpcServerLimits, headerListSize, KEEPALIVE } from './limits';

async function serve(limits: { readRequestTimeoutMs: number; maxConnections: number }): Promise<{ server: grpc.Server; port: number; calls: string[] }> {
  const { options, interceptors } = grpcServerLimits(limits);
  const server = new grpc.Server({ ...options, interceptors });
  const calls: string[] = [];
  server.addService(echoService, {
    Unary: (call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
      calls.push(call.request.text);
      cb(null, { ...call.request, text: `ok:${call.request.text}` });
    },
    Bidi: (call: grpc.ServerDuplexStream<Msg, Msg>) => {
      call.on('data', (m: Msg) => call.write(m));
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  capConnections(server, limits.maxConnections);
  return { server, port, calls };
}

/** Opens a unary call and sends its headers only: the request message never comes. */
function stalledUnary(session: ClientHttp2Session): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const req = session.request({ ':method': 'POST', ':path': '/proxytest.v1.Echo/Unary', 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false });
    let head: Record<string, unknown> = {};
    req.on('response', (h) => (head = { ...h }));
    req.on('trailers', (t) => resolve({ ...head, ...t }));
    req.on('end', () => resolve(head));
    req.on('error', () => resolve(head));
    req.resume();
  });
}

describe('gRPC front-door limits', () => {
  it("uses daprd's keepalive settings", () => {
    expect(KEEPALIVE).toEqual({ 'grpc.keepalive_time_ms': 10000, 'grpc.keepalive_timeout_ms': 5000, 'grpc.max_connection_idle_ms': 180000 });
  });

  it('ends a unary call whose request message never arrives with DEADLINE_EXCEEDED; complete calls are untouched', async () => {
    const { server, port, calls } = await serve({ readRequestTimeoutMs: 300, maxConnections: 0 });
    const session = connect(`http://127.0.0.1:${port}`);
    try {
      const status = await stalledUnary(session);
      expect(status['grpc-status']).toBe(String(grpc.status.DEADLINE_EXCEEDED));
      expect(decodeURIComponent(String(status['grpc-message']))).toMatch(/did not arrive within 300 ms/);
      expect(calls).toEqual([]);
      const client = echoClient(port);
      const res = await new Promise<Msg | undefined>((r, j) => client.Unary({ text: 'hi' }, new grpc.Metadata(), {}, (e, m) => (e ? j(e) : r(m))));
      expect(res?.text).toBe('ok:hi');
      // A bidi stream is not bounded: it outlives the bound between two messages.
      const bidi = client.Bidi(new grpc.Metadata());
      const echoed: string[] = [];
      bidi.on('data', (m: Msg) => echoed.push(m.text));
      bidi.write({ text: 'a' });
      await new Promise((r) => setTimeout(r, 600));
      bidi.write({ text: 'b' });
      bidi.end();
      await new Promise((r) => bidi.on('status', r));
      expect(echoed).toEqual(['a', 'b']);
      client.close();
    } finally {
      session.destroy();
      server.forceShutdown();
    }
  });

  it('caps open connections: one beyond --max-connections is closed at once, and a slot frees when one closes', async () => {
    const { server, port } = await serve({ readRequestTimeoutMs: 0, maxConnections: 1 });
    const closedAtOnce = () =>
      new Promise<boolean>((resolve) => {
        const s = new Socket();
        s.once('close', () => resolve(true));
        s.once('error', () => undefined);
        s.connect(port, '127.0.0.1', () => {
          s.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
          s.once('data', () => {
            s.destroy();
            resolve(false); // the server spoke HTTP/2 (its SETTINGS): the connection was taken
          });
        });
      });
    try {
      const first = echoClient(port);
      await new Promise<void>((r, j) => first.Unary({ text: 'a' }, new grpc.Metadata(), {}, (e) => (e ? j(e) : r())));
      expect(await closedAtOnce()).toBe(true);
      first.close();
      let taken = false;
      for (let i = 0; i < 50 && !taken; i++) {
        taken = !(await closedAtOnce());
        if (!taken) await new Promise((r) => setTimeout(r, 50));
      }
      expect(taken).toBe(true);
    } finally {
      server.forceShutdown();
    }
  });

  it('fails loudly when grpc-js no longer keeps its http2 servers where the cap looks for them', () => {
    expect(() => capConnections({} as grpc.Server, 5)).toThrow(/http2Servers/);
    expect(() => capConnections({} as grpc.Server, 0)).not.toThrow();
  });
});

describe('headerListSize', () => {
  it('counts each field as HTTP/2 does: name and value bytes plus 32', () => {
    expect(headerListSize([':path', '/a.B/C', 'x-k', 'é'])).toBe(5 + 6 + 32 + 3 + 2 + 32);
    expect(headerListSize([])).toBe(0);
  });
});
