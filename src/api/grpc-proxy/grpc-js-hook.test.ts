// Guards the one reliance on grpc-js internals: if an upgrade of @grpc/grpc-js changes how Server
// binds its stream handler, these tests fail (and divertUnknownMethods throws at startup) rather
// than gRPC proxying quietly answering UNIMPLEMENTED.
import * as grpc from '@grpc/grpc-js';
import { divertUnknownMethods, hookUnsupported } from './grpc-js-hook';
import { echoClient, echoService, metadata, unary } from '../../../test/grpc-echo';

const GRPC_JS_VERSION: string = require('@grpc/grpc-js/package.json').version;

async function serve(options: grpc.ServerOptions, diverted: string[], take: boolean): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server(options);
  // Only Unary is registered: the other Echo methods are unknown to this server.
  server.addService({ Unary: echoService.Unary }, { Unary: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { text: 'served' }) });
  divertUnknownMethods(server, (stream, headers) => {
    diverted.push(String(headers[':path']));
    if (!take) return false;
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(grpc.status.ABORTED), 'grpc-message': 'diverted' }, { endStream: true });
    return true;
  });
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  return { server, port };
}

const serverStreamStatus = (port: number) =>
  new Promise<grpc.StatusObject>((resolve) => {
    const client = echoClient(port);
    const call = client.ServerStream({ text: 'x', count: 1 }, metadata([]));
    call.on('data', () => {});
    call.on('error', () => {});
    call.on('status', (s) => {
      client.close();
      resolve(s);
    });
  });

describe(`grpc-js ${GRPC_JS_VERSION} stream hook`, () => {
  it('finds the internals it relies on', () => {
    expect(hookUnsupported()).toBeUndefined();
  });

  it.each([
    ['channelz on (the default)', {}],
    ['channelz off', { 'grpc.enable_channelz': 0 }],
  ])('with %s: unknown paths go to divert, registered ones to their handler', async (_name, options) => {
    const diverted: string[] = [];
    const { server, port } = await serve(options, diverted, true);
    try {
      const client = echoClient(port);
      const served = await unary(client, { text: 'a' }, metadata([]));
      client.close();
      expect(served.err).toBeNull();
      expect(served.res?.text).toBe('served');
      const s = await serverStreamStatus(port);
      expect(s.code).toBe(grpc.status.ABORTED);
      expect(s.details).toBe('diverted');
      expect(diverted).toEqual(['/proxytest.v1.Echo/ServerStream']);
    } finally {
      server.forceShutdown();
    }
  });

  it('a stream divert declines still gets grpc-js UNIMPLEMENTED', async () => {
    const diverted: string[] = [];
    const { server, port } = await serve({}, diverted, false);
    try {
      const s = await serverStreamStatus(port);
      expect(s.code).toBe(grpc.status.UNIMPLEMENTED);
      expect(diverted).toHaveLength(1);
    } finally {
      server.forceShutdown();
    }
  });

  it('leaves non-gRPC requests to grpc-js (415)', async () => {
    const diverted: string[] = [];
    const { server, port } = await serve({}, diverted, true);
    const http2 = await import('node:http2');
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': '/proxytest.v1.Echo/ServerStream', 'content-type': 'text/plain' });
        req.on('response', (h) => resolve(Number(h[':status'])));
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(415);
      expect(diverted).toEqual([]);
    } finally {
      session.close();
      server.forceShutdown();
    }
  });
});
