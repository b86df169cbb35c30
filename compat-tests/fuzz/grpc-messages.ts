// Generated gRPC request bodies for one method, from the protobufjs type of its request: messages
// of the right shape with odd field values, protobuf that is not that message (wrong wire types,
// unknown fields, bad lengths), and frames that are broken as frames.
import fc from 'fast-check';
import { isAbsolute, join } from 'node:path';
import * as protobuf from 'protobufjs';
import { DAPR_PROTO_DIR, DAPR_PROTO_FILE } from '../../src/api/dapr-grpc/protos';
import { loadLayottoRoot } from '../../src/api/layotto-grpc/protos';
import { deepJson, invalidUtf8, oddNumber, oddString } from './arbitraries';
import { APP_ID, NAMES } from './fuzz-env';
import { frame } from './raw-grpc';

/** The Dapr protos as served (from @dapr/dapr), as a protobufjs Root. */
export function loadDaprRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(DAPR_PROTO_DIR, target));
  root.loadSync(DAPR_PROTO_FILE, { keepCase: true });
  root.resolveAll();
  return root;
}

export { loadLayottoRoot };

const bytesArb: fc.Arbitrary<Buffer> = fc.oneof(
  fc.constantFrom('', '{}', '{"a":1}', '[1,2]', 'null', '"s"', 'not json').map((s) => Buffer.from(s)),
  invalidUtf8,
  fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  fc.integer({ min: 10, max: 3000 }).map((n) => Buffer.from(deepJson(n, 'obj'))),
  fc.integer({ min: 1000, max: 64 * 1024 }).map((n) => Buffer.alloc(n, 0x61)),
);

const INT_RANGES: Record<string, [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  sint32: [-(2 ** 31), 2 ** 31 - 1],
  sfixed32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  fixed32: [0, 2 ** 32 - 1],
};

function scalar(type: string): fc.Arbitrary<unknown> {
  if (type === 'string') return oddString;
  if (type === 'bytes') return bytesArb;
  if (type === 'bool') return fc.boolean();
  if (type === 'double' || type === 'float') return oddNumber;
  const range = INT_RANGES[type];
  if (range) return fc.oneof(fc.constantFrom(0, -1, 1, range[0], range[1]), fc.integer({ min: range[0], max: range[1] }));
  // 64-bit integers, as decimal strings (protobufjs takes them without precision loss).
  const unsigned = type.startsWith('u') || type === 'fixed64';
  return fc.oneof(fc.constantFrom('0', '1', unsigned ? '18446744073709551615' : '-9223372036854775808', '9223372036854775807'), fc.bigInt(unsigned ? 0n : -(2n ** 63n), 2n ** 63n - 1n).map(String));
}

/** Fields that name a component or an app (store_name, pubsub_name, service_name, name, id, …). */
const NAME_FIELD = /^(store_?name|pubsub_?name|service_name|component_name|name|id)$/i;

/** The component (or app) an rpc's name fields should mostly name, so calls get past the lookups. */
export function favouredFor(rpc: string): string[] {
  const by: [RegExp, string[]][] = [
    [/State/, [NAMES.state]],
    [/Lock/, [NAMES.lock]],
    [/Configuration/, [NAMES.config]],
    [/Secret/, [NAMES.secrets]],
    [/Publish|TopicEvents/, [NAMES.pubsub]],
    [/Binding/, [NAMES.localstorage, NAMES.httpBinding]],
    [/File/, [NAMES.file]],
    [/NextId/, [NAMES.sequencer]],
    [/SayHello/, [NAMES.hello]],
    [/InvokeService/, [APP_ID]],
  ];
  return by.find(([re]) => re.test(rpc))?.[1] ?? [];
}

function fieldArb(f: protobuf.Field, depth: number, favour: string[]): fc.Arbitrary<unknown> {
  const t = f.resolvedType;
  let one: fc.Arbitrary<unknown>;
  if (t instanceof protobuf.Enum) one = fc.oneof(fc.constantFrom(...Object.values(t.values)), fc.integer({ min: -5, max: 1000 }));
  else if (t instanceof protobuf.Type) one = depth > 3 ? fc.constant({}) : messageArb(t, depth + 1, favour);
  else if (f.type === 'string' && favour.length && NAME_FIELD.test(f.name)) one = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...favour) }, { weight: 1, arbitrary: oddString });
  else one = scalar(f.type);
  if (f.map) return fc.dictionary(oddString, one, { maxKeys: 3 });
  if (f.repeated) return fc.array(one, { maxLength: depth > 1 ? 2 : 4 });
  return one;
}

/** A plain object for `type`: any subset of its fields, each with an odd value of the right type. */
export function messageArb(type: protobuf.Type, depth = 0, favour: string[] = []): fc.Arbitrary<Record<string, unknown>> {
  const fields = Object.fromEntries(type.fieldsArray.map((f) => [f.name, fieldArb(f, depth, favour)]));
  // A oneof takes one member: fromObject keeps the last one set, which is as good as any.
  return fc.record(fields, { requiredKeys: [] });
}

// ---- Protobuf that is not the message: fields of any number with any wire type.

const varint = (n: bigint): Buffer => {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Buffer.from(out);
};

const garbageField: fc.Arbitrary<Buffer> = fc
  .tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 24 }), fc.integer({ min: -3, max: 3 }), fc.bigInt(-(2n ** 63n), 2n ** 64n - 1n))
  .map(([no, wire, bytes, lenSkew, v]) => {
    const tag = varint(BigInt((no << 3) | wire));
    const payload = Buffer.from(bytes);
    switch (wire) {
      case 0:
        return Buffer.concat([tag, varint(v)]);
      case 1:
        return Buffer.concat([tag, Buffer.alloc(8, payload.length)]);
      case 2:
        return Buffer.concat([tag, varint(BigInt(Math.max(0, payload.length + lenSkew))), payload]);
      case 5:
        return Buffer.concat([tag, Buffer.alloc(4, payload.length)]);
      default: // groups (3, 4) and the invalid wire types 6 and 7
        return Buffer.concat([tag, payload]);
    }
  });

export const garbageProtobuf: fc.Arbitrary<Buffer> = fc.oneof(
  fc.array(garbageField, { minLength: 1, maxLength: 6 }).map((fs) => Buffer.concat(fs)),
  fc.uint8Array({ minLength: 1, maxLength: 128 }).map((a) => Buffer.from(a)),
  fc.constant(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])), // a length far past the end
);

/** Request bodies for one method: framed messages and broken frames. */
export function bodyArb(type: protobuf.Type, favour: string[] = []): fc.Arbitrary<{ kind: string; body: Buffer }> {
  const encoded = messageArb(type, 0, favour).map((o) => Buffer.from(type.encode(type.fromObject(o)).finish()));
  return fc.oneof(
    { weight: 8, arbitrary: encoded.map((p) => ({ kind: 'message', body: frame(p) })) },
    { weight: 3, arbitrary: garbageProtobuf.map((p) => ({ kind: 'garbage', body: frame(p) })) },
    { weight: 1, arbitrary: encoded.map((p) => ({ kind: 'compressed-flag', body: frame(p, true) })) },
    { weight: 1, arbitrary: fc.tuple(encoded, fc.integer({ min: 1, max: 100 })).map(([p, n]) => ({ kind: 'truncated', body: frame(p, false, p.length + n) })) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }).map((n) => ({ kind: 'partial-prefix', body: Buffer.alloc(n) })) },
    { weight: 1, arbitrary: fc.constant({ kind: 'empty', body: Buffer.alloc(0) }) },
    { weight: 1, arbitrary: encoded.map((p) => ({ kind: 'two-messages', body: Buffer.concat([frame(p), frame(p)]) })) },
    { weight: 1, arbitrary: fc.constant({ kind: 'huge-length', body: frame(Buffer.alloc(16), false, 0x7fffffff) }) },
  );
}
