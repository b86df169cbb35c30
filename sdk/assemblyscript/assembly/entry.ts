// The proxy-wasm callbacks the host drives; proxy.ts / proxy_0_1_0.ts re-export them with an ABI
// marker and the allocator export of that ABI version.
import { onConfigure, onRequestBody, onGetId } from "./index";

export function proxy_on_context_create(contextId: u32, parentId: u32): void {}
export function proxy_on_vm_start(rootId: u32, size: u32): u32 { return 1; }
export function proxy_on_configure(rootId: u32, size: u32): u32 {
  onConfigure(size);
  return 1;
}
export function proxy_on_request_headers(contextId: u32, headers: u32, endOfStream: u32): u32 { return 0; }
export function proxy_on_request_body(contextId: u32, size: u32, endOfStream: u32): u32 {
  onRequestBody(size);
  return 0;
}
export function proxy_on_request_trailers(contextId: u32, trailers: u32): u32 { return 0; }
export function proxy_on_done(contextId: u32): u32 { return 1; }
export function proxy_on_log(contextId: u32): void {}
export function proxy_on_delete(contextId: u32): void {}
/** Layotto's extra export: the function id goes into the call-data buffer. */
export function proxy_get_id(): void { onGetId(); }
