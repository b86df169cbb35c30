// The same callbacks under ABI 0.1.0 (Layotto's own), whose allocator export has another name.
export * from "./entry";

export function proxy_abi_version_0_1_0(): void {}
export function proxy_on_memory_allocate(size: usize): usize { return heap.alloc(size); }
