// gRPC proxying seen at the HTTP/2 level, where grpc-js would hide the details: a node:http2 "app"
// and a node:http2 client around a grpc-js server with the proxy attached. Repeated header fields
// stay separate, trailers-only answers stay trailers-only, resets and oversized messages end the
// call with the status a gRPC client expects.
import { type ClientHttp2Session, connect, constants as h2, createServer, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { GrpcProxy } from './proxy';

interface RawAnswer {
  headers: string[];
  trailers: string[];
  data: Buffer;
  rstCode: number;
}

/** One message framed as gRPC does (uncompressed). */
const message = (payload: Buffer): Buffer => {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(payload.length, 1);
  return Buffer.concat([prefix, payload]);
};

const pairs = (raw: string[]): [string, string][] => {
  const out: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
};
const values = (raw: string[], name: string) => pairs(raw).filter(([k]) => k === name).map(([, v]) => v);

describe('gRPC proxying at the HTTP/2 level', () => {
  let app: Http2Server;
  let appPort: number;
  const seen: { path: string; raw: string[]; body: Buffer }[] = [];
  let api: grpc.Server;
  let proxy: GrpcProxy;
  let session: ClientHttp2Session;

  // The app's answers, by method.
  const scripts: Record<string, (s: ServerHttp2Stream) => void> = {
    Repeat: (s) => {
      s.respond({ ':status': 200, 'content-type': 'application/grpc', 'x-h': ['a', 'b'] }, { waitForTrailers: true });
      s.once('wantTrailers', () => s.sendTrailers({ 'x-t': ['1', '2'], 'x-t-bin': ['AQI=', 'AwQ='], 'grpc-status': '0' }));
      s.end(message(Buffer.from('pong')));
    },
    OnlyOk: (s) => s.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '0', 'x-only': 'yes' }, { endStream: true }),
    ResetEarly: (s) => s.close(h2.NGHTTP2_ENHANCE_YOUR_CALM),
    ResetLate: (s) => {
      s.respond({ ':status': 200, 'content-type': 'application/grpc' });
      s.write(message(Buffer.from('partial')), () => s.close(h2.NGHTTP2_CANCEL));
    },
    NoTrailers: (s) => {
      s.respond({ ':status': 200, 'content-type': 'application/grpc' });
      s.end(message(Buffer.from('bare')));
    },
    Big: (s) => {
      s.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      s.once('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0' }));
      s.end(message(Buffer.alloc(2 * 1024 * 1024)));
    },
  };

  beforeAll(async () => {
    app = createServer();
    app.on('stream', (s: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, raw: string[]) => {
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('error', () => {});
      const method = String(headers[':path']).split('/').pop()!;
      s.on('end', () => {
        seen.push({ path: String(headers[':path']), raw, body: Buffer.concat(chunks) });
        if (!s.destroyed && !s.closed) scripts[method]?.(s); // a cancelled request gets no answer
      });
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    appPort = (app.address() as AddressInfo).port;

    proxy = new GrpcProxy({ appId: 'raw', namespace: '', app: { address: '127.0.0.1', port: appPort, protocol: 'grpc' }, maxMessageBytes: 1024 * 1024 });
    api = new grpc.Server();
    proxy.attach(api, 'app');
    const port = await new Promise<number>((res, rej) => api.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    session = connect(`http://127.0.0.1:${port}`);
    session.on('error', () => {});
  });
  afterAll(async () => {
    session.destroy();
    api.forceShutdown();
    proxy.close();
    await new Promise((r) => app.close(r));
  });
  beforeEach(() => (seen.length = 0));

  function call(method: string, body: Buffer, extra: Record<string, string | string[]> = {}): Promise<RawAnswer> {
    return new Promise((resolve) => {
      const req = session.request({ ':method': 'POST', ':path': `/raw.v1.Svc/${method}`, 'content-type': 'application/grpc', te: 'trailers', 'dapr-app-id': 'raw', ...extra });
      const answer: RawAnswer = { headers: [], trailers: [], data: Buffer.alloc(0), rstCode: 0 };
      const data: Buffer[] = [];
      req.on('response', (_h: unknown, _f: number, raw: string[]) => (answer.headers = raw));
      req.on('trailers', (_h: unknown, _f: number, raw: string[]) => (answer.trailers = raw));
      req.on('data', (c: Buffer) => data.push(c));
      req.on('error', () => {});
      req.on('close', () => resolve({ ...answer, data: Buffer.concat(data), rstCode: req.rstCode ?? 0 }));
      req.end(body);
    });
  }

  it('repeated header fields and trailers stay separate fields; bodies pass byte for byte', async () => {
    const body = message(Buffer.from('ping'));
    const a = await call('Repeat', body, { 'x-r': ['1', '2'] });
    expect(seen[0]!.path).toBe('/raw.v1.Svc/Repeat');
    expect(values(seen[0]!.raw, 'x-r')).toEqual(['1', '2']);
    expect(values(seen[0]!.raw, 'te')).toEqual(['trailers']);
    expect(seen[0]!.body.equals(body)).toBe(true);
    expect(values(a.headers, 'x-h')).toEqual(['a', 'b']);
    expect(values(a.trailers, 'x-t')).toEqual(['1', '2']);
    expect(values(a.trailers, 'x-t-bin')).toEqual(['AQI=', 'AwQ=']);
    expect(values(a.trailers, 'grpc-status')).toEqual(['0']);
    expect(a.data.equals(message(Buffer.from('pong')))).toBe(true);
  });

  it('a trailers-only OK answer stays trailers-only', async () => {
    const a = await call('OnlyOk', message(Buffer.alloc(0)));
    expect(values(a.headers, 'grpc-status')).toEqual(['0']);
    expect(values(a.headers, 'x-only')).toEqual(['yes']);
    expect(a.trailers).toEqual([]);
    expect(a.data.length).toBe(0);
  });

  it('an answer that ends without trailers ends so through the proxy too (a gRPC client reports the missing status)', async () => {
    const a = await call('NoTrailers', message(Buffer.alloc(0)));
    expect(a.data.equals(message(Buffer.from('bare')))).toBe(true);
    expect(values(a.trailers, 'grpc-status')).toEqual([]);
    expect(a.rstCode).toBe(h2.NGHTTP2_NO_ERROR);
  });

  it('an app that resets the stream: the status a gRPC client reads from that reset', async () => {
    const early = await call('ResetEarly', message(Buffer.alloc(0)));
    expect(values(early.headers, 'grpc-status')).toEqual([String(grpc.status.RESOURCE_EXHAUSTED)]);
    const late = await call('ResetLate', message(Buffer.alloc(0)));
    expect(values(late.headers, ':status')).toEqual(['200']);
    expect(late.data.equals(message(Buffer.from('partial')))).toBe(true);
    expect(values(late.trailers, 'grpc-status')).toEqual([String(grpc.status.CANCELLED)]);
  });

  it('messages over the limit: RESOURCE_EXHAUSTED either way', async () => {
    const sending = await call('Repeat', message(Buffer.alloc(1024 * 1024 + 1)));
    expect(values(sending.headers, 'grpc-status')).toEqual([String(grpc.status.RESOURCE_EXHAUSTED)]);
    expect(decodeURI(values(sending.headers, 'grpc-message')[0]!)).toBe(`grpc: trying to send message larger than max (${1024 * 1024 + 1} vs. ${1024 * 1024})`);
    const receiving = await call('Big', message(Buffer.alloc(0)));
    expect(values(receiving.trailers, 'grpc-status')).toEqual([String(grpc.status.RESOURCE_EXHAUSTED)]);
    expect(decodeURI(values(receiving.trailers, 'grpc-message')[0]!)).toMatch(/received message larger than max/);
  });
});
