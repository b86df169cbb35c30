// Re-export from a function's entry file: `export * from "<sdk>/assembly/proxy";` (ABI 0.2.1).
export * from "./entry";

export function proxy_abi_version_0_2_1(): void {}
/** Where the host puts the data it returns to the guest; the SDK frees it after copying. */
export function malloc(size: usize): usize { return heap.alloc(size); }
