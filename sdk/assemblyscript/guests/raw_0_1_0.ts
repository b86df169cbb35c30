// Test guest written against the raw ABI like Layotto's own demo functions (ABI 0.1.0, allocator
// proxy_on_memory_allocate): reads the body, a header and a property, appends to the response body
// buffer and sets response headers (`:status` too), with no proxy_send_local_response.
import * as host from "../assembly/imports";

export function proxy_abi_version_0_1_0(): void {}
export function proxy_on_memory_allocate(size: usize): usize { return heap.alloc(size); }
export function proxy_on_context_create(contextId: u32, parentId: u32): void {}
export function proxy_on_request_headers(contextId: u32, headers: u32): u32 { return 0; }

const RET: usize = memory.data(8);

function setResponseHeader(name: string, value: string, replace: bool): void {
  const k = String.UTF8.encode(name);
  const v = String.UTF8.encode(value);
  if (replace) host.proxy_replace_header_map_value(2, changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
  else host.proxy_add_header_map_value(2, changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
}
function readValue(status: u32): string {
  return status == 0 ? String.UTF8.decodeUnsafe(load<u32>(RET), load<u32>(RET + 4)) : "status " + status.toString();
}

function append(s: string): void {
  const b = String.UTF8.encode(s);
  // Start past the end appends (the Go SDK's AppendHttpResponseBody).
  host.proxy_set_buffer_bytes(1, 0x7fffffff, 0, changetype<usize>(b), b.byteLength);
}

export function proxy_on_request_body(contextId: u32, size: u32, endOfStream: u32): u32 {
  host.proxy_get_buffer_bytes(0, 0, size, RET, RET + 4);
  const body = String.UTF8.decodeUnsafe(load<u32>(RET), load<u32>(RET + 4));
  append("raw got ");
  append(body);
  const xin = String.UTF8.encode("x-in");
  append(" x-in=" + readValue(host.proxy_get_header_map_value(0, changetype<usize>(xin), xin.byteLength, RET, RET + 4)));
  const path = String.UTF8.encode("request\0path");
  append(" path=" + readValue(host.proxy_get_property(changetype<usize>(path), path.byteLength, RET, RET + 4)));
  setResponseHeader("x-raw", "yes", false);
  // Envoy's way to set the status: the `:status` response header.
  setResponseHeader(":status", "202", true);
  return 0;
}

export function proxy_get_id(): void {
  const id = String.UTF8.encode("raw");
  host.proxy_set_buffer_bytes(8, 0, 0, changetype<usize>(id), id.byteLength);
}
