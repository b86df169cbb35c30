// layotto-ts function SDK for AssemblyScript. A function registers one handler and re-exports the
// proxy-wasm entry points from its entry file:
//
//   import { register, Request, Response, getState } from "<sdk>/assembly";
//   export * from "<sdk>/assembly/proxy";
//   register("id_1", (req: Request): Response => Response.text("hello " + req.text()));
//
// AssemblyScript has no exceptions, so host calls return null/false on failure and status() tells
// the proxy-wasm WasmResult of the last call.
import * as host from "./imports";

export namespace Status {
  export const Ok: u32 = 0;
  export const NotFound: u32 = 1;
  export const BadArgument: u32 = 2;
  export const InternalFailure: u32 = 10;
  export const Unimplemented: u32 = 12;
}
export namespace LogLevel {
  export const Trace: u32 = 0;
  export const Debug: u32 = 1;
  export const Info: u32 = 2;
  export const Warn: u32 = 3;
  export const Error: u32 = 4;
  export const Critical: u32 = 5;
}
const BUFFER_REQUEST_BODY: u32 = 0;
const BUFFER_PLUGIN_CONFIGURATION: u32 = 7;
const BUFFER_CALL_DATA: u32 = 8;
const MAP_REQUEST_HEADERS: u32 = 0;

let lastStatus: u32 = 0;
/** The WasmResult of the last host call made through this SDK. */
export function status(): u32 { return lastStatus; }

// Where the host writes the pointer and size of the data it allocated through `malloc`.
const RET_PTR: usize = memory.data(8);
const RET_SIZE: usize = memory.data(8);

function clearReturn(): void {
  store<u32>(RET_PTR, 0);
  store<u32>(RET_SIZE, 0);
}

/** Copies the host's answer into a managed buffer and frees the host's allocation. */
function takeReturn(): ArrayBuffer {
  const ptr = load<u32>(RET_PTR) as usize;
  const size = load<u32>(RET_SIZE) as i32;
  const out = new ArrayBuffer(size);
  if (ptr != 0) {
    memory.copy(changetype<usize>(out), ptr, size);
    heap.free(ptr);
  }
  return out;
}

export function utf8(s: string): ArrayBuffer { return String.UTF8.encode(s); }
export function text(buf: ArrayBuffer): string { return String.UTF8.decode(buf); }
@inline function ptr(buf: ArrayBuffer): usize { return changetype<usize>(buf); }

export class Header {
  constructor(public name: string, public value: string) {}
}

export class Request {
  constructor(public method: string, public path: string, public headers: Header[], public body: ArrayBuffer) {}
  /** The first value of a header (names are lower-case). */
  header(name: string): string | null {
    for (let i = 0; i < this.headers.length; i++) if (this.headers[i].name == name) return this.headers[i].value;
    return null;
  }
  text(): string { return String.UTF8.decode(this.body); }
  /** A parameter of `a=1&b=2` text: the query string, or the body (Layotto hands the query as body). */
  param(name: string): string | null {
    const q = this.path.indexOf("?");
    const found = findParam(q >= 0 ? this.path.substring(q + 1) : "", name);
    return found != null ? found : findParam(this.text(), name);
  }
}

function findParam(query: string, name: string): string | null {
  const parts = query.split("&");
  for (let i = 0; i < parts.length; i++) {
    const eq = parts[i].indexOf("=");
    if (eq > 0 && parts[i].substring(0, eq) == name) return parts[i].substring(eq + 1);
  }
  return null;
}

export class Response {
  headers: Header[] = [];
  constructor(public status: u32, public body: ArrayBuffer) {}
  static text(body: string, status: u32 = 200): Response {
    const r = new Response(status, String.UTF8.encode(body));
    r.headers.push(new Header("content-type", "text/plain; charset=utf-8"));
    return r;
  }
  static bytes(body: ArrayBuffer, status: u32 = 200): Response { return new Response(status, body); }
  header(name: string, value: string): Response {
    this.headers.push(new Header(name, value));
    return this;
  }
}

let functionId = "";
let handler: (req: Request) => Response = (req: Request): Response => Response.text("no handler registered", 500);

/** Names this module's function id (Layotto's proxy_get_id) and the code that answers its calls. */
export function register(id: string, fn: (req: Request) => Response): void {
  functionId = id;
  handler = fn;
}

/** proxy-wasm header-map serialization: count, (key size, value size)*, then NUL-terminated keys/values. */
function decodeHeaders(buf: ArrayBuffer): Header[] {
  const out: Header[] = [];
  if (buf.byteLength < 4) return out;
  const base = ptr(buf);
  const count = load<u32>(base);
  let data = base + 4 + count * 8;
  for (let i: u32 = 0; i < count; i++) {
    const ks = load<u32>(base + 4 + i * 8);
    const vs = load<u32>(base + 8 + i * 8);
    const k = String.UTF8.decodeUnsafe(data, ks);
    data += ks + 1;
    const v = String.UTF8.decodeUnsafe(data, vs);
    data += vs + 1;
    out.push(new Header(k, v));
  }
  return out;
}

function encodeHeaders(headers: Header[]): ArrayBuffer {
  const keys: ArrayBuffer[] = [];
  const values: ArrayBuffer[] = [];
  let size = 4 + headers.length * 8;
  for (let i = 0; i < headers.length; i++) {
    keys.push(String.UTF8.encode(headers[i].name));
    values.push(String.UTF8.encode(headers[i].value));
    size += keys[i].byteLength + values[i].byteLength + 2;
  }
  const out = new ArrayBuffer(size);
  const base = ptr(out);
  store<u32>(base, headers.length);
  let data = base + 4 + headers.length * 8;
  for (let i = 0; i < headers.length; i++) {
    store<u32>(base + 4 + i * 8, keys[i].byteLength);
    store<u32>(base + 8 + i * 8, values[i].byteLength);
    memory.copy(data, ptr(keys[i]), keys[i].byteLength);
    data += keys[i].byteLength + 1;
    memory.copy(data, ptr(values[i]), values[i].byteLength);
    data += values[i].byteLength + 1;
  }
  return out;
}

let configuration = "";
/** The function's configuration from the sidecar: a JSON object of the spec's extra string keys. */
export function pluginConfig(): string { return configuration; }

export function onConfigure(size: u32): void {
  clearReturn();
  if (size > 0 && host.proxy_get_buffer_bytes(BUFFER_PLUGIN_CONFIGURATION, 0, size, RET_PTR, RET_SIZE) == Status.Ok) {
    configuration = String.UTF8.decode(takeReturn());
  }
}

export function onGetId(): void {
  const id = String.UTF8.encode(functionId);
  host.proxy_set_buffer_bytes(BUFFER_CALL_DATA, 0, 0, ptr(id), id.byteLength);
}

export function onRequestBody(size: u32): void {
  clearReturn();
  host.proxy_get_header_map_pairs(MAP_REQUEST_HEADERS, RET_PTR, RET_SIZE);
  const headers = decodeHeaders(takeReturn());
  let method = "GET";
  let path = "/";
  for (let i = 0; i < headers.length; i++) {
    if (headers[i].name == ":method") method = headers[i].value;
    else if (headers[i].name == ":path") path = headers[i].value;
  }
  clearReturn();
  let body = new ArrayBuffer(0);
  if (size > 0 && host.proxy_get_buffer_bytes(BUFFER_REQUEST_BODY, 0, size, RET_PTR, RET_SIZE) == Status.Ok) body = takeReturn();
  const res = handler(new Request(method, path, headers, body));
  const details = String.UTF8.encode("");
  const hdrs = encodeHeaders(res.headers);
  host.proxy_send_local_response(res.status, ptr(details), 0, ptr(res.body), res.body.byteLength, ptr(hdrs), hdrs.byteLength, -1);
}

/** Writes a log line at a LogLevel into the sidecar's log. */
export function log(level: u32, message: string): void {
  const m = String.UTF8.encode(message);
  host.proxy_log(level, ptr(m), m.byteLength);
}

/** Layotto's GetState: the value, or null when absent (status() NotFound) or on failure. */
export function getState(storeName: string, key: string): ArrayBuffer | null {
  const s = utf8(storeName);
  const k = utf8(key);
  clearReturn();
  lastStatus = host.proxy_get_state(ptr(s), s.byteLength, ptr(k), k.byteLength, RET_PTR, RET_SIZE);
  return lastStatus == Status.Ok ? takeReturn() : null;
}

/** Layotto's InvokeService: calls an app method or another function by id. */
export function invokeService(id: string, method: string, data: ArrayBuffer): ArrayBuffer | null {
  const i = utf8(id);
  const m = utf8(method);
  clearReturn();
  lastStatus = host.proxy_invoke_service(ptr(i), i.byteLength, ptr(m), m.byteLength, ptr(data), data.byteLength, RET_PTR, RET_SIZE);
  return lastStatus == Status.Ok ? takeReturn() : null;
}

export function saveState(storeName: string, key: string, value: ArrayBuffer): bool {
  const s = utf8(storeName);
  const k = utf8(key);
  lastStatus = host.proxy_save_state(ptr(s), s.byteLength, ptr(k), k.byteLength, ptr(value), value.byteLength);
  return lastStatus == Status.Ok;
}

export function publish(pubsub: string, topic: string, data: ArrayBuffer, contentType: string = "text/plain"): bool {
  const p = utf8(pubsub);
  const t = utf8(topic);
  const c = utf8(contentType);
  lastStatus = host.proxy_publish_event(ptr(p), p.byteLength, ptr(t), t.byteLength, ptr(data), data.byteLength, ptr(c), c.byteLength);
  return lastStatus == Status.Ok;
}

/** TryLock: true when this owner now holds the lock. */
export function tryLock(storeName: string, resource: string, owner: string, expireSeconds: i32): bool {
  const s = utf8(storeName);
  const r = utf8(resource);
  const o = utf8(owner);
  store<u32>(RET_PTR, 0);
  lastStatus = host.proxy_try_lock(ptr(s), s.byteLength, ptr(r), r.byteLength, ptr(o), o.byteLength, expireSeconds, RET_PTR);
  return lastStatus == Status.Ok && load<u32>(RET_PTR) == 1;
}

/** Unlock: true when this owner held the lock and released it. */
export function unlock(storeName: string, resource: string, owner: string): bool {
  const s = utf8(storeName);
  const r = utf8(resource);
  const o = utf8(owner);
  store<u32>(RET_PTR, 0);
  lastStatus = host.proxy_unlock(ptr(s), s.byteLength, ptr(r), r.byteLength, ptr(o), o.byteLength, RET_PTR);
  return lastStatus == Status.Ok && load<u32>(RET_PTR) == 1;
}

/** The sequencer's GetNextId, or -1 on failure. */
export function nextId(storeName: string, key: string): i64 {
  const s = utf8(storeName);
  const k = utf8(key);
  store<u64>(RET_PTR, 0);
  lastStatus = host.proxy_get_next_id(ptr(s), s.byteLength, ptr(k), k.byteLength, RET_PTR);
  return lastStatus == Status.Ok ? load<i64>(RET_PTR) : -1;
}
