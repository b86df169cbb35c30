// The Dapr gRPC SubscribeConfiguration stream's life cycle on a real grpc-js server and client over
// an in-memory store: first message = id only, then items; UnsubscribeConfiguration ends the stream
// with OK; a store that goes away ends it with INVALID_ARGUMENT ERR_CONFIGURATION_SUBSCRIBE (daprd's code for a failed subscribe); a client
// cancelling releases the subscription.
import * as grpc from '@grpc/grpc-js';
import { InMemoryConfigurationStore } from '../../components/configuration/in-memory';
import { ComponentStore } from '../../components/store';
import { createCore, type Core } from '../../core';
import { daprClientConstructor } from './protos';
import { addDaprService } from './service';

interface Msg {
  id: string;
  items: Record<string, { value: string; version: string }>;
}
type ServerStream = (req: unknown) => grpc.ClientReadableStream<Msg>;
type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: { ok: boolean }) => void) => void;

let server: grpc.Server;
let client: grpc.Client;
let core: Core;
let store: SpyStore;

/** Records the ids the core releases, to see a cancelled stream's cleanup. */
class SpyStore extends InMemoryConfigurationStore {
  readonly released: string[] = [];
  override async unsubscribe(id: string): Promise<void> {
    this.released.push(id);
    return super.unsubscribe(id);
  }
}

beforeAll(async () => {
  const components = new ComponentStore();
  store = new SpyStore();
  await store.init();
  const meta = { name: 'c', type: 'configuration.in-memory', version: 'v1', properties: {}, appId: 'a', namespace: '' };
  components.add({ kind: 'configuration', name: 'c', meta, instance: store, capabilities: [] });
  core = createCore({ components, appId: 'a', namespace: '', runtimeVersion: 't' }, { protocol: 'http', channelAddress: '127.0.0.1' });
  server = new grpc.Server();
  addDaprService(server, core);
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  const Client = daprClientConstructor();
  client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterAll(() => {
  client.close();
  server.forceShutdown();
});

const subscribe = (keys: string[]) => (client as unknown as Record<string, ServerStream>).SubscribeConfiguration!.call(client, { store_name: 'c', keys });
const unsubscribe = (id: string) =>
  new Promise<{ ok: boolean }>((resolve, reject) =>
    (client as unknown as Record<string, Unary>).UnsubscribeConfiguration!.call(client, { store_name: 'c', id }, (e, r) => (e ? reject(e) : resolve(r))),
  );
const save = (key: string, value: string) => core.configuration.save('c', [{ key, value }], {});

function collect(stream: grpc.ClientReadableStream<Msg>) {
  const msgs: Msg[] = [];
  const ended = new Promise<grpc.StatusObject>((resolve) => {
    stream.on('data', (m: Msg) => msgs.push(m));
    stream.on('error', () => undefined);
    stream.on('status', resolve);
  });
  const next = async (n: number) => {
    while (msgs.length < n) await new Promise((r) => setImmediate(r));
  };
  return { msgs, ended, next };
}

it('first message carries only the id, then items; UnsubscribeConfiguration ends the stream with OK', async () => {
  const s = collect(subscribe(['k1']));
  await s.next(1);
  const id = s.msgs[0]!.id;
  expect(s.msgs[0]).toEqual({ id, items: {} });
  await save('k1', 'v1');
  await save('k2', 'ignored');
  await s.next(2);
  expect(s.msgs[1]).toEqual({ id, items: { k1: { value: 'v1', version: expect.any(String), metadata: {} } } });
  expect(await unsubscribe(id)).toEqual({ ok: true, message: '' });
  expect((await s.ended).code).toBe(grpc.status.OK);
});

it('a client cancelling the stream releases the subscription', async () => {
  const stream = subscribe([]);
  const s = collect(stream);
  await s.next(1);
  const id = s.msgs[0]!.id;
  stream.cancel();
  await s.ended;
  while (!store.released.includes(id)) await new Promise((r) => setImmediate(r));
  await expect(unsubscribe(id)).rejects.toMatchObject({ code: grpc.status.INTERNAL });
});

it('a store that goes away ends the stream with INVALID_ARGUMENT ERR_CONFIGURATION_SUBSCRIBE', async () => {
  const s = collect(subscribe(['k3']));
  await s.next(1);
  await store.close();
  const st = await s.ended;
  expect(st.code).toBe(grpc.status.INVALID_ARGUMENT);
  expect(st.details).toBe('failed to subscribe [k3] from Configuration store c: configuration store closed');
});
