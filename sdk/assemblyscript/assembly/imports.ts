// Host calls a function may make (module `env`): the proxy-wasm subset this SDK uses, Layotto's two
// FaaS additions, and layotto-ts's additions (same style: ptr/size pairs in, results through
// return pointers, a proxy-wasm WasmResult status out). Table: src/faas/engine/ABI.md.

@external("env", "proxy_log")
export declare function proxy_log(level: u32, ptr: usize, size: usize): u32;
@external("env", "proxy_get_buffer_bytes")
export declare function proxy_get_buffer_bytes(type: u32, start: u32, length: u32, retPtr: usize, retSize: usize): u32;
@external("env", "proxy_set_buffer_bytes")
export declare function proxy_set_buffer_bytes(type: u32, start: u32, length: u32, ptr: usize, size: usize): u32;
@external("env", "proxy_get_header_map_pairs")
export declare function proxy_get_header_map_pairs(type: u32, retPtr: usize, retSize: usize): u32;
@external("env", "proxy_add_header_map_value")
export declare function proxy_add_header_map_value(type: u32, kPtr: usize, kSize: usize, vPtr: usize, vSize: usize): u32;
@external("env", "proxy_get_header_map_value")
export declare function proxy_get_header_map_value(type: u32, kPtr: usize, kSize: usize, retPtr: usize, retSize: usize): u32;
@external("env", "proxy_replace_header_map_value")
export declare function proxy_replace_header_map_value(type: u32, kPtr: usize, kSize: usize, vPtr: usize, vSize: usize): u32;
@external("env", "proxy_send_local_response")
export declare function proxy_send_local_response(
  status: u32, detailsPtr: usize, detailsSize: usize, bodyPtr: usize, bodySize: usize,
  headersPtr: usize, headersSize: usize, grpcStatus: i32,
): u32;
@external("env", "proxy_get_property")
export declare function proxy_get_property(pathPtr: usize, pathSize: usize, retPtr: usize, retSize: usize): u32;

// Layotto's FaaS calls.
@external("env", "proxy_get_state")
export declare function proxy_get_state(sPtr: usize, sSize: usize, kPtr: usize, kSize: usize, retPtr: usize, retSize: usize): u32;
@external("env", "proxy_invoke_service")
export declare function proxy_invoke_service(
  idPtr: usize, idSize: usize, mPtr: usize, mSize: usize, pPtr: usize, pSize: usize, retPtr: usize, retSize: usize,
): u32;

// layotto-ts's additions.
@external("env", "proxy_save_state")
export declare function proxy_save_state(sPtr: usize, sSize: usize, kPtr: usize, kSize: usize, vPtr: usize, vSize: usize): u32;
@external("env", "proxy_publish_event")
export declare function proxy_publish_event(
  pPtr: usize, pSize: usize, tPtr: usize, tSize: usize, dPtr: usize, dSize: usize, cPtr: usize, cSize: usize,
): u32;
@external("env", "proxy_try_lock")
export declare function proxy_try_lock(
  sPtr: usize, sSize: usize, rPtr: usize, rSize: usize, oPtr: usize, oSize: usize, expireSeconds: i32, retAcquired: usize,
): u32;
@external("env", "proxy_unlock")
export declare function proxy_unlock(
  sPtr: usize, sSize: usize, rPtr: usize, rSize: usize, oPtr: usize, oSize: usize, retReleased: usize,
): u32;
@external("env", "proxy_get_next_id")
export declare function proxy_get_next_id(sPtr: usize, sSize: usize, kPtr: usize, kSize: usize, retId: usize): u32;
