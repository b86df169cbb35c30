// A plain grpc-js app serving proxytest.v1.Echo (unary, server-stream, client-stream, bidi) that
// records what reached it, and a plain grpc-js client for it. The gRPC proxying tests put a
// sidecar between the two.
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface Msg {
  text: string;
  data: Buffer;
  count: number;
  code: number;
  delay_ms: number;
}

export interface Seen {
  method: string;
  metadata: Record<string, (string | Buffer)[]>;
  /** The deadline the app got (Infinity when none). */
  deadline: number;
  messages: string[];
  /** Bytes of `data` received, all messages together. */
  bytes: number;
}

const definition = protoLoader.loadSync(join(__dirname, 'echo.proto'), { keepCase: true, longs: Number, defaults: true });
const pkg = grpc.loadPackageDefinition(definition) as unknown as { proxytest: { v1: { Echo: grpc.ServiceClientConstructor } } };
export const EchoClient = pkg.proxytest.v1.Echo;
export const echoService = EchoClient.service;

export type Echo = grpc.Client & {
  Unary(m: Partial<Msg>, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Msg) => void): grpc.ClientUnaryCall;
  ServerStream(m: Partial<Msg>, md: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientReadableStream<Msg>;
  ClientStream(md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Msg) => void): grpc.ClientWritableStream<Partial<Msg>>;
  Bidi(md: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientDuplexStream<Partial<Msg>, Msg>;
};

export function echoClient(port: number, options: grpc.ClientOptions = {}): Echo {
  const max = 64 * 1024 * 1024;
  return new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': max, 'grpc.max_send_message_length': max, ...options }) as unknown as Echo;
}

/** Metadata from pairs; a repeated key gets each value. */
export function metadata(pairs: [string, string | Buffer][]): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of pairs) md.add(k, v);
  return md;
}

/** Metadata naming the target app (dapr-app-id), plus any other pairs. */
export const to = (appId: string, extra: [string, string | Buffer][] = []): grpc.Metadata => metadata([['dapr-app-id', appId], ...extra]);

/** Everything a streaming call answers: its messages, response headers and final status. */
export function collect<T>(call: grpc.ClientReadableStream<T> | grpc.ClientDuplexStream<unknown, T>): Promise<{ messages: T[]; status: grpc.StatusObject; headers?: grpc.Metadata }> {
  return new Promise((resolve) => {
    const messages: T[] = [];
    let headers: grpc.Metadata | undefined;
    call.on('metadata', (h) => (headers = h));
    call.on('data', (m: T) => messages.push(m));
    call.on('error', () => {});
    call.on('status', (status) => resolve({ messages, status, headers }));
  });
}

/** A client-streaming call sending one message per text. */
export function clientStream(client: Echo, md: grpc.Metadata, texts: string[], data?: Buffer): Promise<{ err: grpc.ServiceError | null; res?: Msg }> {
  return new Promise((resolve) => {
    const call = client.ClientStream(md, {}, (err, res) => resolve({ err, res }));
    for (const text of texts) call.write({ text, ...(data ? { data } : {}) });
    call.end();
  });
}

/** A unary call's answer with the response headers and trailers the client saw. */
export function unary(client: Echo, m: Partial<Msg>, md: grpc.Metadata, opts: grpc.CallOptions = {}): Promise<{ err: grpc.ServiceError | null; res?: Msg; headers?: grpc.Metadata; trailers?: grpc.Metadata }> {
  return new Promise((resolve) => {
    let headers: grpc.Metadata | undefined;
    let trailers: grpc.Metadata | undefined;
    let answer: { err: grpc.ServiceError | null; res?: Msg } | undefined;
    const done = () => answer && trailers && resolve({ ...answer, headers, trailers });
    const call = client.Unary(m, md, opts, (err, res) => {
      answer = { err, res };
      done();
    });
    call.on('metadata', (h) => (headers = h));
    call.on('status', (s) => {
      trailers = s.metadata;
      done();
    });
  });
}

export interface EchoApp {
  name: string;
  port: number;
  seen: Seen[];
  /** Methods whose call the app saw cancelled. */
  cancelled: string[];
  /** Unary calls left to fail with UNAVAILABLE ('flaky') before the app answers them. */
  failNext: number;
  /** Forgets what was seen and cancelled (between cases). */
  reset(): void;
  close(): Promise<void>;
}

/** What every server call shape has. */
type AnyCall = Pick<grpc.ServerUnaryCall<Msg, Msg>, 'metadata' | 'getDeadline'> & { once(event: 'cancelled', listener: () => void): unknown };

const sleep = (ms: number, call: AnyCall) =>
  new Promise<void>((r) => {
    const t = setTimeout(r, ms);
    call.once('cancelled', () => {
      clearTimeout(t);
      r();
    });
  });

/** Starts the app on a free port. Every answer carries x-app / x-bin-bin headers and x-trailer / x-trailer-bin trailers. */
export async function startEchoApp(name: string, port = 0): Promise<EchoApp> {
  const app: EchoApp = {
    name,
    port: 0,
    seen: [],
    cancelled: [],
    failNext: 0,
    reset: () => {
      app.seen.length = 0;
      app.cancelled.length = 0;
      app.failNext = 0;
    },
    close: async () => {},
  };
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.max_send_message_length': 64 * 1024 * 1024 });
  const record = (method: string, call: AnyCall): Seen => {
    const s: Seen = { method, metadata: call.metadata.toJSON() as Seen['metadata'], deadline: Number(call.getDeadline()), messages: [], bytes: 0 };
    app.seen.push(s);
    call.once('cancelled', () => app.cancelled.push(method));
    return s;
  };
  const head = () => metadata([['x-app', name], ['x-bin-bin', Buffer.from([0, 1, 2, 255])]]);
  const tail = () => metadata([['x-trailer', 't1'], ['x-trailer', 't2'], ['x-trailer-bin', Buffer.from([9, 8, 7])]]);
  const failure = (m: Msg): Partial<grpc.StatusObject> => ({ code: m.code, details: `app ${name} failed: ${m.text}`, metadata: metadata([['x-err', 'e'], ['x-err-bin', Buffer.from([1, 2, 3])]]) });

  server.addService(echoService, {
    Unary: async (call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
      const s = record('Unary', call);
      s.messages.push(call.request.text);
      s.bytes += call.request.data.length;
      if (app.failNext > 0) {
        app.failNext--;
        return cb({ code: grpc.status.UNAVAILABLE, details: 'flaky' });
      }
      if (call.request.delay_ms) await sleep(call.request.delay_ms, call);
      if (call.request.code) return cb(failure(call.request));
      call.sendMetadata(head());
      cb(null, { text: `${name}:${call.request.text}`, data: call.request.data, count: 1, code: 0, delay_ms: 0 }, tail());
    },
    ServerStream: async (call: grpc.ServerWritableStream<Msg, Msg>) => {
      const s = record('ServerStream', call);
      s.messages.push(call.request.text);
      call.sendMetadata(head());
      for (let i = 0; i < call.request.count && !call.cancelled; i++) {
        call.write({ text: `${call.request.text}-${i}`, data: call.request.data, count: i, code: 0, delay_ms: 0 });
        if (call.request.delay_ms) await sleep(call.request.delay_ms, call);
      }
      if (call.cancelled) return;
      if (call.request.code) return call.emit('error', failure(call.request));
      call.end(tail());
    },
    ClientStream: (call: grpc.ServerReadableStream<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
      const s = record('ClientStream', call);
      let code = 0;
      call.on('data', (m: Msg) => {
        s.messages.push(m.text);
        s.bytes += m.data.length;
        if (m.code) code = m.code;
      });
      call.on('end', () => {
        if (code) return cb(failure({ text: s.messages.join(','), code } as Msg));
        cb(null, { text: s.messages.join(','), data: Buffer.alloc(0), count: s.messages.length, code: 0, delay_ms: 0 }, tail());
      });
    },
    Bidi: (call: grpc.ServerDuplexStream<Msg, Msg>) => {
      const s = record('Bidi', call);
      call.sendMetadata(head());
      call.on('data', (m: Msg) => {
        s.messages.push(m.text);
        s.bytes += m.data.length;
        if (m.code) return call.emit('error', failure(m));
        call.write({ text: `${name}:${m.text}`, data: m.data, count: s.messages.length, code: 0, delay_ms: 0 });
      });
      call.on('end', () => call.end(tail()));
    },
  });
  app.port = await new Promise<number>((res, rej) => server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  app.close = () =>
    new Promise<void>((r) => {
      server.forceShutdown();
      r();
    });
  return app;
}
