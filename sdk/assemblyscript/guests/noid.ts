// Test guest: a proxy-wasm module without Layotto's proxy_get_id export.
export function proxy_abi_version_0_2_1(): void {}
export function malloc(size: usize): usize { return heap.alloc(size); }
export function proxy_on_request_body(contextId: u32, size: u32, endOfStream: u32): u32 { return 0; }
