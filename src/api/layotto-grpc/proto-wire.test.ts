// Wire compatibility of our own proto/layotto files with Layotto's: the `layotto` npm SDK ships
// google-protobuf stubs generated from Layotto's protos. For every message we encode each field
// with our proto (protobufjs), decode it with the stub and read it back through the stub's getter
// (so a wrong number, wire type or name fails), then re-encode with the stub and decode with ours.
// Field sets, nested enums and the service tables (paths, streaming, request/response types) are
// compared too.
import * as protobuf from 'protobufjs';
import { loadLayottoRoot } from './protos';

type StubMsg = Record<string, (...args: unknown[]) => unknown>;
type StubCtor = (new () => StubMsg) & { deserializeBinary(b: Uint8Array): StubMsg };
interface StubMethod {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize: { name: string };
  responseSerialize: { name: string };
}

/* eslint-disable @typescript-eslint/no-require-imports */
const stubs: Record<string, unknown> = {
  ...require('layotto/proto/runtime/v1/runtime_pb'),
  ...require('layotto/proto/runtime/v1/appcallback_pb'),
  ...require('layotto/proto/runtime/v1/lifecycle_pb'),
};
const services: Record<string, Record<string, StubMethod>> = {
  Runtime: require('layotto/proto/runtime/v1/runtime_grpc_pb').RuntimeService,
  AppCallback: require('layotto/proto/runtime/v1/appcallback_grpc_pb').AppCallbackService,
  Lifecycle: require('layotto/proto/runtime/v1/lifecycle_grpc_pb').LifecycleService,
};
/* eslint-enable @typescript-eslint/no-require-imports */

const PKG = 'spec.proto.runtime.v1';
const root = loadLayottoRoot();
const pkg = root.lookup(PKG) as protobuf.Namespace;

function collect<T extends protobuf.ReflectionObject>(ns: protobuf.NamespaceBase, cls: new (...a: never[]) => T): T[] {
  const out: T[] = [];
  for (const o of ns.nestedArray) {
    if (o instanceof cls) out.push(o);
    if (o instanceof protobuf.Namespace || o instanceof protobuf.Type) out.push(...collect(o, cls));
  }
  return out;
}
const types = collect(pkg, protobuf.Type);
const enums = collect(pkg, protobuf.Enum);

/** Path below the package, e.g. "StateOptions.StateConcurrency". */
const rel = (o: protobuf.ReflectionObject) => o.fullName.slice(PKG.length + 2);
function stubOf(o: protobuf.ReflectionObject): unknown {
  return rel(o)
    .split('.')
    .reduce<unknown>((acc, k) => (acc as Record<string, unknown> | undefined)?.[k], stubs);
}

/** jspb accessor stem: snake parts capitalised, the rest lower-cased ("storeName" -> "Storename"). */
const stem = (name: string) => name.split('_').map((p) => p[0]!.toUpperCase() + p.slice(1).toLowerCase()).join('');
const suffix = (f: protobuf.Field) => (f.map ? 'Map' : f.repeated ? 'List' : '');
const objectKey = (f: protobuf.Field) => {
  const s = stem(f.name);
  return s[0]!.toLowerCase() + s.slice(1) + suffix(f);
};

const OBJ: protobuf.IConversionOptions = { longs: String, enums: Number, bytes: Array };

/** A distinctive value for one field (nested messages get every field set, 2 levels deep). */
function sample(f: protobuf.Field, depth: number): unknown {
  f.resolve();
  const one = (): unknown => {
    if (f.resolvedType instanceof protobuf.Enum) return Math.max(...Object.values(f.resolvedType.values));
    if (f.resolvedType instanceof protobuf.Type) return fill(f.resolvedType, depth + 1);
    switch (f.type) {
      case 'string':
        return `${f.name}-${f.id}`;
      case 'bytes':
        return Buffer.from([0xff, 0, f.id, 7]);
      case 'bool':
        return true;
      case 'int64':
        return f.options?.jstype === 'JS_STRING' ? '9007199254740993' : '1234567';
      case 'int32':
        return -5 - f.id;
      default:
        throw new Error(`no sample for ${f.type} (${f.fullName})`);
    }
  };
  if (f.map) return { k1: one() };
  if (f.repeated) return [one(), one()];
  return one();
}

function fill(t: protobuf.Type, depth = 0): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (depth > 2) return o;
  // Only the first member of each oneof: setting two would make the encoding ambiguous.
  const skip = new Set(t.oneofsArray.filter((x) => !x.name.startsWith('_')).flatMap((x) => x.oneof.slice(1)));
  for (const f of t.fieldsArray) if (!skip.has(f.name)) o[f.name] = sample(f, depth);
  return o;
}

/** Comparable form: byte arrays as hex, everything else as is. */
function canon(v: unknown): unknown {
  if (v instanceof Uint8Array) return `hex:${Buffer.from(v).toString('hex')}`;
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, canon(x)]));
  return v;
}

/** What the stub's getter says about field f, in our toObject shape. */
function readStub(msg: StubMsg, f: protobuf.Field): unknown {
  const s = stem(f.name);
  const msgValue = (x: unknown) =>
    (f.resolvedType as protobuf.Type).toObject((f.resolvedType as protobuf.Type).decode((x as StubMsg).serializeBinary!() as Uint8Array), OBJ);
  const scalar = (x: unknown) => {
    if (f.resolvedType instanceof protobuf.Type) return msgValue(x);
    if (f.type === 'int64') return String(x);
    return x;
  };
  if (f.map) {
    const m = msg[`get${s}Map`]!() as { entries(): Iterable<[string, unknown]> };
    return Object.fromEntries([...m.entries()].map(([k, x]) => [k, scalar(x)]));
  }
  if (f.repeated) return (msg[`get${s}List`]!() as unknown[]).map(scalar);
  if (f.type === 'bytes') return Array.from(msg[`get${s}_asU8`]!() as Uint8Array);
  return scalar(msg[`get${s}`]!());
}

// The SDK's stubs predate SubscribeTopicEvents (Layotto #1088); those messages exist only in ours.
const NEWER_THAN_SDK = [
  'SubscribeTopicEventsRequest',
  'SubscribeTopicEventsRequestInitial',
  'SubscribeTopicEventsRequestProcessed',
  'SubscribeTopicEventsResponse',
  'SubscribeTopicEventsResponseInitial',
];

describe('layotto protos are wire-compatible with the layotto SDK stubs', () => {
  it('declares every stub message and only the newer streaming ones besides', () => {
    const ours = new Set(types.map(rel));
    const missingInStub = [...ours].filter((n) => typeof stubOf(pkg.lookup(n)!) !== 'function');
    expect(missingInStub.sort()).toEqual(NEWER_THAN_SDK);
    const stubNames = Object.keys(stubs).filter((k) => typeof stubs[k] === 'function' && 'deserializeBinary' in (stubs[k] as object));
    for (const n of stubNames) expect(ours.has(n)).toBe(true);
    expect(types.length).toBe(stubNames.length + NEWER_THAN_SDK.length);
  });

  const checked = types.filter((t) => !NEWER_THAN_SDK.includes(rel(t)));
  describe.each(checked.map((t) => [rel(t), t] as const))('%s', (_name, t) => {
    const Stub = stubOf(t) as StubCtor;

    it('has the same field set', () => {
      const stubKeys = Object.keys(new Stub().toObject!() as object).sort();
      expect(t.fieldsArray.map(objectKey).sort()).toEqual(stubKeys);
    });

    const fields = t.fieldsArray.map((f) => [f.name, f] as const);
    if (fields.length === 0) return;
    it.each(fields)('field %s: same number, type and name both ways', (_f, f) => {
      const value = sample(f, 0);
      const bytes = t.encode(t.fromObject({ [f.name]: value })).finish();
      const ours = t.toObject(t.decode(bytes), OBJ)[f.name];
      const decoded = Stub.deserializeBinary(bytes);
      expect(canon(readStub(decoded, f))).toEqual(canon(ours));
      const back = t.toObject(t.decode(decoded.serializeBinary!() as Uint8Array), OBJ);
      expect(canon(back)).toEqual(canon({ [f.name]: ours }));
    });
  });

  it('has the same nested enums with the same values', () => {
    for (const e of enums) expect([rel(e), e.values]).toEqual([rel(e), stubOf(e)]);
    expect(enums.map(rel).sort()).toEqual([
      'HTTPExtension.Verb',
      'LockKeepAliveResponse.Status',
      'SequencerOptions.AutoIncrement',
      'StateOptions.StateConcurrency',
      'StateOptions.StateConsistency',
      'TopicEventResponse.TopicEventResponseStatus',
      'UnlockResponse.Status',
    ]);
  });

  it('keeps next_id as a JS string and TopicEventRequest without field 9', () => {
    const nextId = (pkg.lookup('GetNextIdResponse') as protobuf.Type).fields.next_id!;
    expect(nextId.options?.jstype).toBe('JS_STRING');
    const ids = (pkg.lookup('TopicEventRequest') as protobuf.Type).fieldsArray.map((f) => f.id);
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 10]);
  });

  it.each(Object.keys(services))('service %s: same rpcs, paths, streaming and types', (name) => {
    const svc = pkg.lookup(name) as protobuf.Service;
    const stub = services[name]!;
    const typeName = (fn: { name: string }) => fn.name.replace(/^serialize_/, '');
    const fq = (t: string) => (pkg.lookup(t) ?? root.lookup(t))!.fullName.slice(1).replace(/\./g, '_');
    const stubRows = Object.values(stub).map((m) => [m.path, m.requestStream, m.responseStream, typeName(m.requestSerialize), typeName(m.responseSerialize)]);
    const ourRows = svc.methodsArray.map((m) => [
      `/${PKG}.${name}/${m.name}`,
      !!m.requestStream,
      !!m.responseStream,
      fq(m.requestType),
      fq(m.responseType),
    ]);
    const newer = name === 'Runtime' ? ['SubscribeTopicEvents'] : [];
    const byPath = (a: unknown[], b: unknown[]) => String(a[0]).localeCompare(String(b[0]));
    expect(ourRows.filter((r) => !newer.some((n) => String(r[0]).endsWith(`/${n}`))).sort(byPath)).toEqual(stubRows.sort(byPath));
    if (name === 'Runtime') expect(svc.methodsArray).toHaveLength(26);
  });
});
