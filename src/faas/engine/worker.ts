// One function instance: a worker thread that owns a wasm instance and answers calls one at a
// time. Host calls that need the sidecar's async core block this thread on the bridge (Atomics.wait
// until the main thread has answered on the bridge port), so guests keep proxy-wasm's synchronous
// ABI. Any fault is reported and the main thread replaces the instance.
import { randomFillSync } from 'node:crypto';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { BufferType, MapType, WasmResult, allocatorExport, decodeHeaderMap, encodeHeaderMap, type HeaderPairs } from './abi';
import { PAGE } from './memory-cap';
import type { BridgeOp, BridgeReply, FromWorker, ToWorker, WorkerInit } from './messages';
import type { FunctionFailureKind } from '../types';

const init = workerData as WorkerInit;
const signal = new Int32Array(init.signal);
const ROOT_CONTEXT = 1;

/** The guest called abort / proc_exit: a trap with the guest's own message. */
class GuestAbort extends Error {}
class ProcExit extends GuestAbort {
  constructor(readonly code: number) {
    super(`proc_exit(${code})`);
  }
}
/** The guest could not allocate what it or the host needed. */
class MemoryFault extends Error {}

interface Stream {
  reqHeaders: HeaderPairs;
  reqBody: Buffer;
  reqTrailers: HeaderPairs;
  respHeaders: HeaderPairs;
  respBody: Buffer;
  respTrailers: HeaderPairs;
  status: number;
  /** proxy_send_local_response was called: the response is final, later callbacks are skipped. */
  local: boolean;
  method: string;
  path: string;
}

let exportsOf: Record<string, unknown> = {};
let memory: WebAssembly.Memory;
let allocator = '';
let stream: Stream | undefined;
let callData: Buffer = Buffer.alloc(0);
const pluginConfig = Buffer.from(init.pluginConfig);
const properties = new Map<string, Buffer<ArrayBufferLike>>();
let nextContext = ROOT_CONTEXT + 1;
/** What the guest printed during the current call (Rust and TinyGo print allocation failures). */
let guestOutput = '';

const post = (m: FromWorker, transfer?: ArrayBuffer[]) => parentPort!.postMessage(m, transfer);
const log = (level: number, message: string) => post({ type: 'log', level, message });

// ---- guest memory ----
function read(ptr: number, size: number): Buffer {
  ptr >>>= 0;
  size >>>= 0;
  if (ptr + size > memory.buffer.byteLength) throw new RangeError(`guest pointer ${ptr}+${size} out of bounds`);
  return Buffer.from(new Uint8Array(memory.buffer, ptr, size));
}
const readString = (ptr: number, size: number) => read(ptr, size).toString('utf8');
function writeU32(ptr: number, v: number): void {
  new DataView(memory.buffer).setUint32(ptr >>> 0, v >>> 0, true);
}
function writeU64(ptr: number, v: bigint): void {
  new DataView(memory.buffer).setBigUint64(ptr >>> 0, BigInt.asUintN(64, v), true);
}
/** Copies data into memory the guest allocated and stores its pointer and size where the guest asked. */
function give(data: Uint8Array, ptrPtr: number, sizePtr: number): number {
  let ptr = 0;
  if (data.length > 0) {
    ptr = (exportsOf[allocator] as (n: number) => number)(data.length) >>> 0;
    if (ptr === 0 || ptr + data.length > memory.buffer.byteLength) {
      throw new MemoryFault(`the guest could not allocate ${data.length} bytes for a host answer`);
    }
    new Uint8Array(memory.buffer, ptr, data.length).set(data);
  }
  writeU32(ptrPtr, ptr);
  writeU32(sizePtr, data.length);
  return WasmResult.Ok;
}
/** An AssemblyScript string (UTF-16, byte length stored just before it), for abort/trace. */
function readAsString(ptr: number): string {
  if (!ptr) return '';
  const len = new DataView(memory.buffer).getUint32(ptr - 4, true);
  return read(ptr, len).toString('utf16le');
}

// ---- buffers and header maps of the current stream ----
function getBuffer(type: number): Buffer | undefined {
  switch (type) {
    case BufferType.HttpRequestBody:
      return stream?.reqBody;
    case BufferType.HttpResponseBody:
      return stream?.respBody;
    case BufferType.VmConfiguration:
      return Buffer.alloc(0);
    case BufferType.PluginConfiguration:
      return pluginConfig;
    case BufferType.CallData:
      return callData;
  }
  return undefined;
}
function setBuffer(type: number, value: Buffer): boolean {
  if (type === BufferType.CallData) callData = value;
  else if (type === BufferType.HttpRequestBody && stream) stream.reqBody = value;
  else if (type === BufferType.HttpResponseBody && stream) stream.respBody = value;
  else return false;
  return true;
}
function getMap(type: number): HeaderPairs | undefined {
  if (!stream) return undefined;
  return [stream.reqHeaders, stream.reqTrailers, stream.respHeaders, stream.respTrailers][type];
}
function setMap(type: number, pairs: HeaderPairs): boolean {
  if (!stream || type < 0 || type > MapType.HttpResponseTrailers) return false;
  const keys = ['reqHeaders', 'reqTrailers', 'respHeaders', 'respTrailers'] as const;
  stream[keys[type]] = pairs;
  return true;
}

function property(path: string): Buffer | undefined {
  const set = properties.get(path);
  if (set) return set;
  const q = stream ? stream.path.indexOf('?') : -1;
  const values: Record<string, string | undefined> = {
    plugin_name: init.name,
    plugin_root_id: '',
    plugin_vm_id: '',
    'request\0path': stream?.path,
    'request\0url_path': stream && (q < 0 ? stream.path : stream.path.slice(0, q)),
    'request\0query': stream && (q < 0 ? '' : stream.path.slice(q + 1)),
    'request\0method': stream?.method,
  };
  const v = values[path];
  return v === undefined ? undefined : Buffer.from(v);
}

// ---- the synchronous bridge to the sidecar's host services ----
function bridge(op: BridgeOp, args: unknown[]): BridgeReply {
  Atomics.store(signal, 0, 0);
  init.bridge.postMessage({ op, args });
  // Short waits so a terminate() from the main thread (call timeout) is never held up.
  while (Atomics.load(signal, 0) === 0) Atomics.wait(signal, 0, 0, 100);
  const answer = receiveMessageOnPort(init.bridge);
  return answer ? (answer.message as BridgeReply) : { ok: false, message: 'the host answer was lost' };
}
const bytesOf = (v: unknown) => (v instanceof Uint8Array ? v : new Uint8Array(0));

// Host calls made from inside the guest: a bad pointer or host failure becomes a status code, while
// guest faults (abort, allocation failure, traps in the guest's allocator) keep unwinding.
type HostFn = (...a: number[]) => number | void;
function guarded(fn: HostFn): HostFn {
  return (...a: number[]) => {
    try {
      return fn(...a);
    } catch (e) {
      if (e instanceof GuestAbort || e instanceof MemoryFault || e instanceof WebAssembly.RuntimeError) throw e;
      if (e instanceof RangeError) return WasmResult.InvalidMemoryAccess;
      log(4, `host call failed: ${(e as Error).message}`);
      return WasmResult.InternalFailure;
    }
  };
}

const ok = () => WasmResult.Ok;
function sendLocalResponse(status: number, _dPtr: number, _dSize: number, bodyPtr: number, bodySize: number, hPtr: number, hSize: number): number {
  if (!stream) return WasmResult.BadArgument;
  stream.status = status;
  stream.respBody = read(bodyPtr, bodySize);
  stream.respHeaders = decodeHeaderMap(read(hPtr, hSize)).map(([k, v]): [string, string] => [k.toLowerCase(), v]);
  stream.local = true;
  return WasmResult.Ok;
}
const proxyImports: Record<string, HostFn> = {
  proxy_log: (level, ptr, size) => (log(level, readString(ptr, size)), WasmResult.Ok),
  proxy_get_log_level: (ret) => (writeU32(ret, 0), WasmResult.Ok),
  proxy_get_current_time_nanoseconds: (ret) => (writeU64(ret, BigInt(Date.now()) * 1_000_000n), WasmResult.Ok),
  proxy_set_tick_period_milliseconds: ok,
  proxy_get_property: (pathPtr, pathSize, retPtr, retSize) => {
    const v = property(readString(pathPtr, pathSize));
    return v === undefined ? WasmResult.NotFound : give(v, retPtr, retSize);
  },
  proxy_set_property: (pathPtr, pathSize, vPtr, vSize) => {
    properties.set(readString(pathPtr, pathSize), read(vPtr, vSize));
    return WasmResult.Ok;
  },
  proxy_get_buffer_bytes: (type, start, length, retPtr, retSize) => {
    const buf = getBuffer(type);
    if (!buf) return WasmResult.NotFound;
    if (start >>> 0 > buf.length) return WasmResult.BadArgument;
    return give(buf.subarray(start >>> 0, (start >>> 0) + (length >>> 0)), retPtr, retSize);
  },
  proxy_get_buffer_status: (type, lengthPtr, flagsPtr) => {
    const buf = getBuffer(type);
    if (!buf) return WasmResult.NotFound;
    writeU32(lengthPtr, buf.length);
    writeU32(flagsPtr, 0);
    return WasmResult.Ok;
  },
  // MOSN's semantics (Layotto's host): start 0 with length 0 replaces the buffer, start at or past
  // the end appends, otherwise [start, start+length) is replaced.
  proxy_set_buffer_bytes: (type, start, length, ptr, size) => {
    const buf = getBuffer(type);
    if (!buf) return WasmResult.NotFound;
    const data = read(ptr, size);
    start >>>= 0;
    length >>>= 0;
    let next: Buffer;
    if (start === 0 && length === 0) next = data;
    else if (start >= buf.length) next = Buffer.concat([buf, data]);
    else next = Buffer.concat([buf.subarray(0, start), data, buf.subarray(Math.min(buf.length, start + length))]);
    return setBuffer(type, next) ? WasmResult.Ok : WasmResult.BadArgument;
  },
  proxy_get_header_map_pairs: (type, retPtr, retSize) => {
    const map = getMap(type);
    return map ? give(encodeHeaderMap(map), retPtr, retSize) : WasmResult.NotFound;
  },
  proxy_set_header_map_pairs: (type, ptr, size) => {
    const pairs = decodeHeaderMap(read(ptr, size)).map(([k, v]): [string, string] => [k.toLowerCase(), v]);
    return setMap(type, pairs) ? WasmResult.Ok : WasmResult.NotFound;
  },
  proxy_get_header_map_value: (type, kPtr, kSize, retPtr, retSize) => {
    const map = getMap(type);
    if (!map) return WasmResult.NotFound;
    const key = readString(kPtr, kSize).toLowerCase();
    const hit = map.find(([k]) => k === key);
    return hit ? give(Buffer.from(hit[1]), retPtr, retSize) : WasmResult.NotFound;
  },
  proxy_add_header_map_value: (type, kPtr, kSize, vPtr, vSize) => {
    const map = getMap(type);
    if (!map) return WasmResult.NotFound;
    map.push([readString(kPtr, kSize).toLowerCase(), readString(vPtr, vSize)]);
    return WasmResult.Ok;
  },
  proxy_replace_header_map_value: (type, kPtr, kSize, vPtr, vSize) => {
    const map = getMap(type);
    if (!map) return WasmResult.NotFound;
    const key = readString(kPtr, kSize).toLowerCase();
    setMap(type, [...map.filter(([k]) => k !== key), [key, readString(vPtr, vSize)]]);
    return WasmResult.Ok;
  },
  proxy_remove_header_map_value: (type, kPtr, kSize) => {
    const map = getMap(type);
    if (!map) return WasmResult.NotFound;
    const key = readString(kPtr, kSize).toLowerCase();
    setMap(type, map.filter(([k]) => k !== key));
    return WasmResult.Ok;
  },
  proxy_get_header_map_size: (type, ret) => {
    const map = getMap(type);
    if (!map) return WasmResult.NotFound;
    writeU32(ret, encodeHeaderMap(map).length);
    return WasmResult.Ok;
  },
  proxy_send_local_response: sendLocalResponse,
  // MOSN's ABI 0.1.0 name for it (Layotto's host), same signature.
  proxy_send_http_response: sendLocalResponse,
  // One stream at a time and no upstream: flow control and context switches need no action.
  // proxy_resume_* are MOSN's ABI 0.1.0 names (Layotto's host) for proxy_continue_*.
  proxy_resume_http_request: ok,
  proxy_resume_http_response: ok,
  proxy_resume_downstream: ok,
  proxy_resume_upstream: ok,
  proxy_continue_request: ok,
  proxy_continue_response: ok,
  proxy_continue_stream: ok,
  proxy_close_stream: ok,
  proxy_clear_route_cache: ok,
  proxy_set_effective_context: ok,
  proxy_done: ok,

  // Layotto's FaaS calls.
  proxy_get_state: (sPtr, sSize, kPtr, kSize, retPtr, retSize) => {
    const r = bridge('getState', [readString(sPtr, sSize), readString(kPtr, kSize)]);
    if (!r.ok) return WasmResult.InternalFailure;
    return r.value === undefined ? WasmResult.NotFound : give(bytesOf(r.value), retPtr, retSize);
  },
  proxy_invoke_service: (idPtr, idSize, mPtr, mSize, pPtr, pSize, retPtr, retSize) => {
    const r = bridge('invoke', [readString(idPtr, idSize), readString(mPtr, mSize), read(pPtr, pSize)]);
    return r.ok ? give(bytesOf(r.value), retPtr, retSize) : WasmResult.InternalFailure;
  },
  // layotto-ts's additions.
  proxy_save_state: (sPtr, sSize, kPtr, kSize, vPtr, vSize) => {
    const r = bridge('saveState', [readString(sPtr, sSize), readString(kPtr, kSize), read(vPtr, vSize)]);
    return r.ok ? WasmResult.Ok : WasmResult.InternalFailure;
  },
  proxy_publish_event: (pPtr, pSize, tPtr, tSize, dPtr, dSize, cPtr, cSize) => {
    const args = [readString(pPtr, pSize), readString(tPtr, tSize), read(dPtr, dSize), readString(cPtr, cSize) || 'text/plain'];
    return bridge('publish', args).ok ? WasmResult.Ok : WasmResult.InternalFailure;
  },
  proxy_try_lock: (sPtr, sSize, rPtr, rSize, oPtr, oSize, expire, ret) => {
    const r = bridge('tryLock', [readString(sPtr, sSize), readString(rPtr, rSize), readString(oPtr, oSize), expire]);
    if (!r.ok) return WasmResult.InternalFailure;
    writeU32(ret, r.value ? 1 : 0);
    return WasmResult.Ok;
  },
  proxy_unlock: (sPtr, sSize, rPtr, rSize, oPtr, oSize, ret) => {
    const r = bridge('unlock', [readString(sPtr, sSize), readString(rPtr, rSize), readString(oPtr, oSize)]);
    if (!r.ok) return WasmResult.InternalFailure;
    writeU32(ret, r.value ? 1 : 0);
    return WasmResult.Ok;
  },
  proxy_get_next_id: (sPtr, sSize, kPtr, kSize, ret) => {
    const r = bridge('nextId', [readString(sPtr, sSize), readString(kPtr, kSize)]);
    if (!r.ok) return WasmResult.InternalFailure;
    writeU64(ret, r.value as bigint);
    return WasmResult.Ok;
  },
};

// AssemblyScript's runtime imports.
const ascImports: Record<string, (...a: number[]) => number | void> = {
  abort: (msg, file, line, col) => {
    throw new GuestAbort(`abort: ${readAsString(msg)} at ${readAsString(file)}:${line}:${col}`);
  },
  trace: (msg, n, ...args) => log(1, `trace: ${readAsString(msg)} ${args.slice(0, n).join(', ')}`),
  seed: () => Date.now(),
};

// The few WASI calls TinyGo/Rust proxy-wasm guests make (stdout goes to the log); no files.
const ENOSYS = 52;
const wasiImports: Record<string, (...a: number[]) => number | void> = {
  fd_write: (fd, iovs, iovsLen, nwritten) => {
    const dv = new DataView(memory.buffer);
    let text = '';
    let total = 0;
    for (let i = 0; i < iovsLen; i++) {
      const len = dv.getUint32(iovs + i * 8 + 4, true);
      text += readString(dv.getUint32(iovs + i * 8, true), len);
      total += len;
    }
    guestOutput = (guestOutput + text).slice(-1024);
    log(fd === 2 ? 4 : 2, text.trimEnd());
    writeU32(nwritten, total);
    return 0;
  },
  proc_exit: (code) => {
    throw new ProcExit(code);
  },
  random_get: (ptr, len) => (randomFillSync(new Uint8Array(memory.buffer, ptr >>> 0, len >>> 0)), 0),
  clock_time_get: (_id, _precision, ret) => (writeU64(ret, BigInt(Date.now()) * 1_000_000n), 0),
  environ_sizes_get: (count, size) => (writeU32(count, 0), writeU32(size, 0), 0),
  args_sizes_get: (count, size) => (writeU32(count, 0), writeU32(size, 0), 0),
  environ_get: () => 0,
  args_get: () => 0,
  sched_yield: () => 0,
};

function buildImports(): WebAssembly.Imports {
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = { env: {}, wasi_snapshot_preview1: {} };
  for (const imp of WebAssembly.Module.imports(init.module)) {
    const mod = (imports[imp.module] ??= {});
    if (imp.kind === 'memory') {
      memory = new WebAssembly.Memory({ initial: init.importedMemory!.initial, maximum: init.importedMemory!.maximum });
      mod[imp.name] = memory;
    } else if (imp.kind !== 'function') {
      throw new Error(`unsupported import ${imp.module}.${imp.name} (${imp.kind})`);
    } else if (imp.module === 'env' && proxyImports[imp.name]) {
      mod[imp.name] = guarded(proxyImports[imp.name]);
    } else if (imp.module === 'env' && ascImports[imp.name]) {
      mod[imp.name] = ascImports[imp.name];
    } else if (imp.module === 'wasi_snapshot_preview1') {
      mod[imp.name] = wasiImports[imp.name] ?? (() => ENOSYS);
    } else {
      // proxy-wasm calls this host does not offer (http/grpc calls, shared data, metrics): the
      // guest links and gets Unimplemented if it ever calls one.
      mod[imp.name] = () => WasmResult.Unimplemented;
    }
  }
  return imports;
}

function callExport(name: string, ...args: number[]): number | undefined {
  const fn = exportsOf[name];
  return typeof fn === 'function' ? (fn as (...a: number[]) => number)(...args) : undefined;
}

function start(): void {
  const instance = new WebAssembly.Instance(init.module, buildImports());
  exportsOf = instance.exports as Record<string, unknown>;
  if (exportsOf.memory instanceof WebAssembly.Memory) memory = exportsOf.memory;
  if (!memory) throw new Error('the module has no memory');
  // The loader checked the required exports (ABI marker, allocator, proxy_get_id).
  allocator = allocatorExport(Object.keys(exportsOf))!;
  if (typeof exportsOf._initialize === 'function') callExport('_initialize');
  else if (typeof exportsOf._start === 'function') {
    // A WASI command's _start may end with proc_exit(0) once main returns (TinyGo).
    try {
      callExport('_start');
    } catch (e) {
      if (!(e instanceof ProcExit && e.code === 0)) throw e;
    }
  }
  callExport('proxy_on_context_create', ROOT_CONTEXT, 0);
  if (callExport('proxy_on_vm_start', ROOT_CONTEXT, 0) === 0) throw new Error('proxy_on_vm_start returned false');
  if (callExport('proxy_on_configure', ROOT_CONTEXT, pluginConfig.length) === 0) throw new Error('proxy_on_configure returned false');
  callExport('proxy_get_id');
  const id = callData.toString('utf8');
  if (!id) throw new Error('proxy_get_id wrote no function id into the call data buffer');
  post({ type: 'ready', id });
}

// Signs of an allocation failure: allocator frames (with a name section) and what Rust / TinyGo /
// AssemblyScript print or abort with.
const MEMORY_SIGNS = /growMemory|alloc_error|out of memory|runtime\.alloc|dlmalloc|sbrk|Allocation too large|memory allocation of/i;
// memory.grow; compare with 0 or -1; if; unreachable: the check compilers emit right after growing
// (AssemblyScript's TLSF, at every optimization level).
const GROW_THEN_TRAP = [Buffer.from([0x40, 0x00, 0x41, 0x00, 0x48, 0x04, 0x40, 0x00]), Buffer.from([0x40, 0x00, 0x41, 0x7f, 0x46, 0x04, 0x40, 0x00])];
const moduleBytes = Buffer.from(init.bytes);

/** Whether the trap site (the stack's first wasm frame, a module offset) just follows a memory.grow check. */
function trappedAfterGrow(stack: string): boolean {
  const m = /wasm-function\[\d+\]:0x([0-9a-f]+)/.exec(stack);
  if (!m) return false;
  const at = parseInt(m[1], 16);
  const window = moduleBytes.subarray(Math.max(0, at - 16), at + 2);
  return GROW_THEN_TRAP.some((p) => window.includes(p));
}

function classify(e: unknown): { kind: FunctionFailureKind; message: string } {
  const err = e instanceof Error ? e : new Error(String(e));
  const limit = `${init.maxPages / 16} MiB`;
  const memoryFault = { kind: 'memory' as const, message: `out of memory (limit ${limit}): ${err.message}` };
  const signs = MEMORY_SIGNS.test(`${err.message}\n${err.stack ?? ''}\n${guestOutput}`);
  if (err instanceof MemoryFault) return { kind: 'memory', message: `${err.message} (limit ${limit})` };
  if (err instanceof GuestAbort) return signs ? memoryFault : { kind: 'trap', message: err.message };
  if (err instanceof WebAssembly.RuntimeError) {
    // A failed memory.grow is invisible to the host; the guest traps right after it, with its memory
    // at the cap (gradual growth), at the grow check, or after printing an allocation failure.
    const atCap = !!memory && memory.buffer.byteLength + 16 * PAGE > init.maxPages * PAGE;
    if (atCap || signs || trappedAfterGrow(err.stack ?? '')) return memoryFault;
  }
  return { kind: 'trap', message: err.message };
}

/** The guest's status, or Envoy's `:status` response header when it set one; 500 if not an HTTP status. */
function responseStatus(s: Stream): number {
  const header = s.respHeaders.find(([k]) => k === ':status');
  const status = header ? Number(header[1]) : s.status;
  if (Number.isInteger(status) && status >= 100 && status <= 599) return status;
  log(4, `the function answered with an invalid HTTP status ${header ? header[1] : status}; sending 500`);
  return 500;
}

// What an HTTP/1.1 response may carry (RFC 9110 token names; no control characters in values).
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\uffff]*$/;
function responseHeaders(s: Stream): HeaderPairs {
  return s.respHeaders.filter(([k, v]) => {
    if (k.startsWith(':')) return false;
    if (HEADER_NAME.test(k) && HEADER_VALUE.test(v)) return true;
    log(3, `dropped invalid response header ${JSON.stringify(k)}`);
    return false;
  });
}

function handle(msg: ToWorker): void {
  const { req, seq } = msg;
  const s: Stream = {
    reqHeaders: [[':method', req.method], [':path', req.path], ...req.headers],
    reqBody: Buffer.from(req.body),
    reqTrailers: [],
    respHeaders: [],
    respBody: Buffer.alloc(0),
    respTrailers: [],
    status: 200,
    local: false,
    method: req.method,
    path: req.path,
  };
  stream = s;
  guestOutput = '';
  const ctx = nextContext++;
  try {
    callExport('proxy_on_context_create', ctx, ROOT_CONTEXT);
    callExport('proxy_on_request_headers', ctx, s.reqHeaders.length, 0);
    if (!s.local) callExport('proxy_on_request_body', ctx, s.reqBody.length, 1);
    if (!s.local) callExport('proxy_on_request_trailers', ctx, 0);
    callExport('proxy_on_done', ctx);
    callExport('proxy_on_log', ctx);
    callExport('proxy_on_delete', ctx);
    const body = new Uint8Array(s.respBody);
    post({ type: 'result', seq, status: responseStatus(s), headers: responseHeaders(s), body }, [body.buffer]);
  } catch (e) {
    post({ type: 'fault', seq, ...classify(e) });
  } finally {
    stream = undefined;
  }
}

try {
  start();
  parentPort!.on('message', handle);
} catch (e) {
  const { kind, message } = classify(e);
  post({ type: 'load-error', message: kind === 'memory' ? message : (e as Error).message });
}
