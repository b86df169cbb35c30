// The FaaS contract: how the sidecar drives WebAssembly functions (engine side, src/faas/engine/)
// and what a function may ask of the sidecar (host services, wired from the core in
// src/runtime/faas.ts). Functions follow Layotto's model: proxy-wasm HTTP filters, each module
// names its function id through the extra export `proxy_get_id`.

/** One function as configuration or the admin API declares it (Layotto's install body, flattened). */
export interface FunctionSpec {
  /** Function id; requests carry it in the `id` header, invocation uses it as the app id. */
  id: string;
  /** Path of the .wasm file (relative paths resolve against the sidecar's working directory). */
  path: string;
  /** Worker instances; Layotto's `instance_num` (<= 0 means one per CPU). */
  instances: number;
  /** Per-call limits; defaults apply when absent. */
  limits?: FunctionLimits;
  /** Extra string keys of the plugin config, handed to the guest as its plugin configuration. */
  config?: Record<string, string>;
}

export interface FunctionLimits {
  /** Wall time for one call, including its host calls (default 5000 ms). */
  timeoutMs?: number;
  /** Linear memory ceiling of an instance in MiB (default 64). */
  memoryMiB?: number;
}

/** An HTTP request as a function sees it (proxy-wasm request headers + body). */
export interface FunctionRequest {
  method: string;
  /** Path with the query string, e.g. `/?name=book1`. */
  path: string;
  /** Lower-cased header names; repeated headers appear once per value. */
  headers: Array<[string, string]>;
  /** The body; Layotto hands the query string when the body is empty. */
  body: Buffer;
}

export interface FunctionResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

/** Why a call failed, for the caller's error (never a crash of the sidecar or other functions). */
export type FunctionFailureKind =
  | 'not_found' // unknown function id
  | 'load' // the module did not compile/instantiate or has no proxy_get_id
  | 'trap' // the guest trapped (unreachable, out-of-bounds, abort)
  | 'timeout' // the call ran past timeoutMs (the instance is replaced)
  | 'memory' // the guest asked for more than memoryMiB
  | 'busy'; // no instance free before the deadline

export class FunctionError extends Error {
  constructor(
    readonly kind: FunctionFailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'FunctionError';
  }
}

/** What the engine offers the sidecar: load, replace and call functions. */
export interface FunctionHost {
  /** Compiles the module, starts its instances and reads its id; rejects with FunctionError('load'). */
  install(spec: FunctionSpec): Promise<void>;
  /** Replaces a function's module and/or instance count; calls in flight finish on the old instances. */
  update(spec: Partial<FunctionSpec> & { id: string }): Promise<void>;
  uninstall(id: string): Promise<void>;
  has(id: string): boolean;
  list(): Array<{ id: string; path: string; instances: number }>;
  call(id: string, req: FunctionRequest): Promise<FunctionResponse>;
  close(): Promise<void>;
}

/**
 * What a function may ask of the sidecar. The engine's workers reach these through a synchronous
 * bridge (Atomics.wait on a SharedArrayBuffer); the main thread runs them on the core.
 * Errors: throw; the guest sees a non-zero proxy status (and the message in its log).
 */
export interface HostServices {
  /** Layotto's proxy_get_state: the value, or undefined when the key does not exist. */
  getState(store: string, key: string): Promise<Buffer | undefined>;
  /** Layotto's proxy_invoke_service: invoke `id` (an app or another function), method, body. */
  invoke(id: string, method: string, data: Buffer): Promise<Buffer>;
  /** Beyond Layotto: save one key. */
  saveState(store: string, key: string, value: Buffer): Promise<void>;
  /** Beyond Layotto: publish raw data (wrapped as a CloudEvent by the core, like any publish). */
  publish(pubsub: string, topic: string, data: Buffer, contentType: string): Promise<void>;
  /** Beyond Layotto: TryLock / Unlock; true when acquired / released. */
  tryLock(store: string, resource: string, owner: string, expireSeconds: number): Promise<boolean>;
  unlock(store: string, resource: string, owner: string): Promise<boolean>;
  /** Beyond Layotto: the sequencer's GetNextId. */
  nextId(store: string, key: string): Promise<bigint>;
  /** The guest's proxy_log, at its level (0 trace … 5 critical). */
  log(functionId: string, level: number, message: string): void;
}
