// The extension services against the `layotto` SDK's own generated stubs: every rpc, called
// through the SDK's client for its service, answers UNIMPLEMENTED naming itself (never hangs), and
// every message of ours carries each field under the number and name the stub reads it from.
// (The SDK ships no sms stubs; SmsService is called through our definition.)
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { join } from 'node:path';
import { addExtensionServices, EXTENSIONS, extensionServiceNames, loadExtensionDefinition } from './extensions';
import { PROTO_DIR } from './protos';

type StubMsg = { toObject(): Record<string, unknown> };
type StubCtor = { deserializeBinary(b: Uint8Array): StubMsg };
type Callable = Record<string, (...a: unknown[]) => unknown>;

const WITH_STUBS = Object.keys(EXTENSIONS).filter((f) => !f.startsWith('sms/'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sdk = (file: string, suffix: string): Record<string, unknown> => require(`layotto/proto/extension/v1/${file}_${suffix}`);

let server: grpc.Server;
let address: string;

beforeAll(async () => {
  server = new grpc.Server();
  addExtensionServices(server);
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  address = `127.0.0.1:${port}`;
});

afterAll(() => server.forceShutdown());

function clientFor(file: string): grpc.Client {
  const service = EXTENSIONS[file]!.split('.')[1]!;
  if (WITH_STUBS.includes(file)) {
    const Ctor = sdk(file, 'grpc_pb')[`${service}Client`] as grpc.ServiceClientConstructor;
    return new Ctor(address, grpc.credentials.createInsecure());
  }
  const ns = grpc.loadPackageDefinition(loadExtensionDefinition());
  const Ctor = `spec.proto.extension.v1.${EXTENSIONS[file]}`.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], ns) as grpc.ServiceClientConstructor;
  return new Ctor(address, grpc.credentials.createInsecure());
}

const rows = Object.keys(EXTENSIONS).flatMap((file) => {
  const def = loadExtensionDefinition()[`spec.proto.extension.v1.${EXTENSIONS[file]}`] as grpc.ServiceDefinition;
  return Object.entries(def).map(([rpc, m]) => [`${EXTENSIONS[file]!.split('.')[1]}/${rpc}`, file, rpc, m.requestStream, m.responseStream] as const);
});

describe('extension services answer UNIMPLEMENTED naming the rpc', () => {
  it('serves the six services and their 33 rpcs', () => {
    expect(extensionServiceNames()).toHaveLength(6);
    expect(rows).toHaveLength(33);
  });

  it.each(rows)('%s', async (name, file, rpc, reqStream, resStream) => {
    const client = clientFor(file);
    // The SDK's clients name methods in lowerCamel ("encrypt"); ours keep the rpc name.
    const methods = client as unknown as Callable;
    const fn = (methods[rpc] ?? methods[rpc[0]!.toLowerCase() + rpc.slice(1)])!.bind(client);
    // An empty request: an instance of the SDK's request class (its serializer checks), or {} for ours.
    const stubMethod = (client.constructor as unknown as { service?: Record<string, { requestType: new () => unknown }> }).service?.[rpc[0]!.toLowerCase() + rpc.slice(1)];
    const empty = stubMethod ? new stubMethod.requestType() : {};
    const err = await new Promise<grpc.ServiceError>((resolve, reject) => {
      const cb = (e: grpc.ServiceError | null) => (e ? resolve(e) : reject(new Error('no error')));
      if (!reqStream && !resStream) fn(empty, cb);
      else if (reqStream && !resStream) (fn(cb) as grpc.ClientWritableStream<unknown>).write(empty);
      else {
        const s = fn(empty) as grpc.ClientReadableStream<unknown>;
        s.on('data', () => reject(new Error('unexpected data')));
        s.on('error', resolve);
      }
    });
    client.close();
    expect([err.code, err.details]).toEqual([grpc.status.UNIMPLEMENTED, `${name} is not implemented`]);
  });
});

describe('extension messages match the SDK stubs field by field', () => {
  const sample = (f: protobuf.Field): unknown => {
    const one = () => {
      if (f.resolvedType instanceof protobuf.Type) return {};
      return { string: `v${f.id}`, bytes: Buffer.from([f.id]), int64: 1000 + f.id, int32: 100 + f.id, bool: true }[f.type];
    };
    if (f.map) return { k: one() };
    return f.repeated ? [one()] : one();
  };
  const cases = WITH_STUBS.flatMap((file) => {
    const root = new protobuf.Root();
    root.resolvePath = (_o, t) => (t.startsWith('google/protobuf/') || t.startsWith(PROTO_DIR) ? t : join(PROTO_DIR, t));
    root.loadSync(`spec/proto/extension/v1/${file}.proto`, { keepCase: true }).resolveAll();
    const stubs = sdk(file, 'pb');
    const pkg = root.lookup(`spec.proto.extension.v1.${EXTENSIONS[file]!.split('.')[0]}`) as protobuf.Namespace;
    return pkg.nestedArray.filter((t): t is protobuf.Type => t instanceof protobuf.Type).map((t) => [t.fullName.slice(1), t, stubs[t.name] as StubCtor] as const);
  });

  it('declares every SDK stub message (72 for s3)', () => {
    expect(cases.filter(([n]) => n.includes('.s3.'))).toHaveLength(72);
    for (const [, , Stub] of cases) expect(typeof Stub?.deserializeBinary).toBe('function');
  });

  it.each(cases)('%s', (_n, t, Stub) => {
    const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
    // jspb's object keys: snake parts capitalised, everything else lower case, plus List/Map.
    const key = (f: protobuf.Field) => {
      const k = f.name.split('_').map((p, i) => (i === 0 ? p.toLowerCase() : p[0]!.toUpperCase() + p.slice(1).toLowerCase())).join('');
      // JavaScript keywords get jspb's pb_ prefix (DeleteObjectsInput.delete).
      return (['delete', 'default', 'function'].includes(k) ? `pb_${k}` : k) + (f.map ? 'Map' : f.repeated ? 'List' : '');
    };
    expect(Object.keys(Stub.deserializeBinary(new Uint8Array()).toObject()).sort()).toEqual(t.fieldsArray.map(key).sort());
    for (const f of t.fieldsArray) {
      const obj = Stub.deserializeBinary(t.encode(t.fromObject({ [f.name]: sample(f) })).finish()).toObject();
      const got = obj[key(f)];
      // Set under its own key only: a wrong number would land elsewhere or nowhere.
      expect([f.name, camel(f.name), got !== undefined && got !== '' && got !== 0 && got !== false && !(Array.isArray(got) && got.length === 0)]).toEqual([f.name, camel(f.name), true]);
    }
  });
});
