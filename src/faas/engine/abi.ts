// proxy-wasm ABI constants (0.1.0 / 0.2.x share them) and the header-map wire format, shared by
// the worker's host calls and the tests.

/** proxy-wasm WasmResult: the status every host call returns. */
export const WasmResult = {
  Ok: 0,
  NotFound: 1,
  BadArgument: 2,
  SerializationFailure: 3,
  InvalidMemoryAccess: 6,
  Empty: 7,
  InternalFailure: 10,
  Unimplemented: 12,
} as const;

/** Buffer types; CallData (8) is MOSN's, where a function writes its id in proxy_get_id. */
export const BufferType = {
  HttpRequestBody: 0,
  HttpResponseBody: 1,
  VmConfiguration: 6,
  PluginConfiguration: 7,
  CallData: 8,
} as const;

export const MapType = {
  HttpRequestHeaders: 0,
  HttpRequestTrailers: 1,
  HttpResponseHeaders: 2,
  HttpResponseTrailers: 3,
} as const;

/** Exports that mark a module's ABI version; one is required. */
export const ABI_MARKERS = ['proxy_abi_version_0_1_0', 'proxy_abi_version_0_2_0', 'proxy_abi_version_0_2_1'] as const;

/** The guest allocator the host fills return buffers through: 0.2.x `malloc`, 0.1.0 `proxy_on_memory_allocate`. */
export function allocatorExport(exports: readonly string[]): string | undefined {
  const v010 = exports.includes('proxy_abi_version_0_1_0');
  const order = v010 ? ['proxy_on_memory_allocate', 'malloc'] : ['malloc', 'proxy_on_memory_allocate'];
  return order.find((name) => exports.includes(name));
}

export type HeaderPairs = Array<[string, string]>;

/** Count, (key size, value size) per pair, then each key and value followed by a NUL (little-endian u32s). */
export function encodeHeaderMap(pairs: HeaderPairs): Buffer {
  const keys = pairs.map(([k]) => Buffer.from(k));
  const values = pairs.map(([, v]) => Buffer.from(v));
  let size = 4 + pairs.length * 8;
  for (let i = 0; i < pairs.length; i++) size += keys[i].length + values[i].length + 2;
  const out = Buffer.alloc(size);
  out.writeUInt32LE(pairs.length, 0);
  let data = 4 + pairs.length * 8;
  for (let i = 0; i < pairs.length; i++) {
    out.writeUInt32LE(keys[i].length, 4 + i * 8);
    out.writeUInt32LE(values[i].length, 8 + i * 8);
    data += keys[i].copy(out, data) + 1;
    data += values[i].copy(out, data) + 1;
  }
  return out;
}

/** Inverse of encodeHeaderMap; throws RangeError on a truncated map. */
export function decodeHeaderMap(buf: Buffer): HeaderPairs {
  if (buf.length < 4) return [];
  const count = buf.readUInt32LE(0);
  if (4 + count * 8 > buf.length) throw new RangeError('header map shorter than its pair count');
  const pairs: HeaderPairs = [];
  let data = 4 + count * 8;
  for (let i = 0; i < count; i++) {
    const ks = buf.readUInt32LE(4 + i * 8);
    const vs = buf.readUInt32LE(8 + i * 8);
    if (data + ks + vs + 2 > buf.length) throw new RangeError('header map shorter than its sizes');
    const k = buf.toString('utf8', data, data + ks);
    data += ks + 1;
    const v = buf.toString('utf8', data, data + vs);
    data += vs + 1;
    pairs.push([k, v]);
  }
  return pairs;
}
