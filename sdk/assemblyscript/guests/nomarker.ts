// Test guest: names an id but exports no proxy-wasm ABI version marker.
export function malloc(size: usize): usize { return heap.alloc(size); }
export function proxy_get_id(): void {}
