import { AsyncLocalStorage } from 'node:async_hooks';
import * as grpc from '@grpc/grpc-js';
import { FilterChain } from '../../mesh/chain';
import type { Exchange, Filter } from '../../mesh/filter';
import { filteredServer } from './filter-interceptor';

// A raw-bytes service: every shape of call, messages are Buffers as sent.
const raw = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
const service: grpc.ServiceDefinition = {
  Echo: { path: '/test.Svc/Echo', requestStream: false, responseStream: false, ...raw },
  Watch: { path: '/test.Svc/Watch', requestStream: false, responseStream: true, ...raw },
  Chat: { path: '/test.Svc/Chat', requestStream: true, responseStream: true, ...raw },
  Hang: { path: '/test.Svc/Hang', requestStream: false, responseStream: true, ...raw },
};
const Client = grpc.makeGenericClientConstructor(service, 'Svc');

const als = new AsyncLocalStorage<string>();

function recorder(stopMethod?: string): { filter: Filter; seen: Exchange[]; handled: string[] } {
  const seen: Exchange[] = [];
  const handled: string[] = [];
  const filter: Filter = {
    name: 'test',
    onRequest: async (ex) => {
      if (ex.route === stopMethod) return { http: { status: 429, body: '' }, grpc: { code: grpc.status.RESOURCE_EXHAUSTED, details: 'too many' } };
      ex.run = (fn) => als.run(`ctx:${ex.route}`, fn);
      return undefined;
    },
    onResponse: (ex) => void seen.push({ ...ex }),
  };
  return { filter, seen, handled };
}

async function serve(filter: Filter, handled: string[]): Promise<{ server: grpc.Server; client: grpc.Client & Record<string, Function> }> {
  const server = filteredServer({}, new FilterChain([filter]), 'dapr-grpc');
  server.addService(service, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      handled.push('Echo');
      if (call.request.toString() === 'ctx') return cb(null, Buffer.from(als.getStore() ?? 'none'));
      if (call.request.toString() === 'fail') return cb({ code: grpc.status.NOT_FOUND, details: 'no such thing' });
      cb(null, Buffer.concat([call.request, call.request]));
    },
    Watch: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      handled.push('Watch');
      call.write(Buffer.from('aaa'));
      call.write(Buffer.from('bbbb'));
      call.end();
    },
    Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      handled.push('Chat');
      call.on('data', (b: Buffer) => call.write(b.toString() === 'ctx' ? Buffer.from(als.getStore() ?? 'none') : b));
      call.on('end', () => call.end());
    },
    Hang: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      call.write(call.request); // and never ends
    },
  });
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Function>;
  return { server, client };
}

const unary = (client: Record<string, Function>, body: string, md = new grpc.Metadata()) =>
  new Promise<{ err: grpc.ServiceError | null; res?: Buffer }>((r) => client.Echo(Buffer.from(body), md, (err: grpc.ServiceError | null, res?: Buffer) => r({ err, res })));

const streamed = (call: grpc.ClientReadableStream<Buffer>) =>
  new Promise<{ chunks: string[]; err?: grpc.ServiceError }>((r) => {
    const chunks: string[] = [];
    call.on('data', (b: Buffer) => chunks.push(b.toString()));
    call.on('error', (err: grpc.ServiceError) => r({ chunks, err }));
    call.on('end', () => r({ chunks }));
  });

/** onResponse runs as the status goes out; give the server side a moment past the client's callback. */
const settle = async (seen: Exchange[], n: number) => {
  for (let i = 0; i < 100 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 10));
};

describe('gRPC filter interceptor', () => {
  let stop: (() => void)[] = [];
  afterEach(() => {
    for (const s of stop) s();
    stop = [];
  });
  const start = async (stopMethod?: string) => {
    const rec = recorder(stopMethod);
    const { server, client } = await serve(rec.filter, rec.handled);
    stop.push(() => client.close(), () => server.forceShutdown());
    return { ...rec, client };
  };

  it('continues a unary call and reports its status, metadata and message sizes', async () => {
    const { client, seen, handled } = await start();
    const md = new grpc.Metadata();
    md.set('x-test', 'yes');
    const { err, res } = await unary(client, 'hello', md);
    expect(err).toBeNull();
    expect(res!.toString()).toBe('hellohello');
    await settle(seen, 1);
    expect(handled).toEqual(['Echo']);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ api: 'dapr-grpc', protocol: 'grpc', route: '/test.Svc/Echo', streaming: false, status: 0, requestBytes: 5, responseBytes: 10 });
    expect(seen[0]!.headers['x-test']).toBe('yes');
    expect(seen[0]!.remoteAddress).toBe('127.0.0.1');
  });

  it("runs unary and streaming handlers in the exchange's context", async () => {
    const { client } = await start();
    expect((await unary(client, 'ctx')).res!.toString()).toBe('ctx:/test.Svc/Echo');
    const chat = client.Chat() as grpc.ClientDuplexStream<Buffer, Buffer>;
    const done = streamed(chat);
    chat.write(Buffer.from('ctx'));
    chat.end();
    expect((await done).chunks).toEqual(['ctx:/test.Svc/Chat']);
  });

  it('reports a handler error status', async () => {
    const { client, seen } = await start();
    const { err } = await unary(client, 'fail');
    expect(err!.code).toBe(grpc.status.NOT_FOUND);
    await settle(seen, 1);
    expect(seen[0]).toMatchObject({ status: grpc.status.NOT_FOUND, message: 'no such thing' });
  });

  it('stops a unary call with the local reply, never calling the handler', async () => {
    const { client, seen, handled } = await start('/test.Svc/Echo');
    const { err } = await unary(client, 'hello');
    expect(err!.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err!.details).toBe('too many');
    await settle(seen, 1);
    expect(handled).toEqual([]);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ status: grpc.status.RESOURCE_EXHAUSTED });
    // The server still answers afterwards.
    expect((await unary(client, 'x')).err!.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it('continues a server stream and a bidi stream, counting every message', async () => {
    const { client, seen, handled } = await start();
    const watch = await streamed(client.Watch(Buffer.from('go')));
    expect(watch).toEqual({ chunks: ['aaa', 'bbbb'] });
    const chat = client.Chat() as grpc.ClientDuplexStream<Buffer, Buffer>;
    const done = streamed(chat);
    chat.write(Buffer.from('12'));
    chat.write(Buffer.from('345'));
    chat.end();
    expect(await done).toEqual({ chunks: ['12', '345'] });
    await settle(seen, 2);
    expect(handled).toEqual(['Watch', 'Chat']);
    expect(seen.map((e) => [e.route, e.streaming, e.status, e.requestBytes, e.responseBytes])).toEqual([
      ['/test.Svc/Watch', true, 0, 2, 7],
      ['/test.Svc/Chat', true, 0, 5, 5],
    ]);
  });

  it('stops a bidi stream before the handler starts', async () => {
    const { client, seen, handled } = await start('/test.Svc/Chat');
    const chat = client.Chat() as grpc.ClientDuplexStream<Buffer, Buffer>;
    const done = streamed(chat);
    chat.write(Buffer.from('12'));
    const { err } = await done;
    expect(err!.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    await settle(seen, 1);
    expect(handled).toEqual([]);
    expect(seen[0]).toMatchObject({ route: '/test.Svc/Chat', status: grpc.status.RESOURCE_EXHAUSTED });
  });

  it('reports a call the client cancelled once, as CANCELLED', async () => {
    const { client, seen } = await start();
    const hang = client.Hang(Buffer.from('1')) as grpc.ClientReadableStream<Buffer>;
    hang.on('error', () => {});
    await new Promise((r) => hang.once('data', r));
    hang.cancel();
    await settle(seen, 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ status: grpc.status.CANCELLED, requestBytes: 1, responseBytes: 1 });
  });

  it('adds no interceptor when no filter applies to the API', () => {
    const chain = new FilterChain([{ name: 'http-only', apis: ['dapr-http'] }]);
    const server = filteredServer({}, chain, 'dapr-grpc');
    expect((server as unknown as { interceptors?: unknown[] }).interceptors ?? []).toEqual([]);
    server.forceShutdown();
  });
});
