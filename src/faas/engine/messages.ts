// Messages between an instance's main-thread side (instance.ts) and its worker (worker.ts).
import type { FunctionFailureKind } from '../types';

export interface WorkerInit {
  module: WebAssembly.Module;
  /** The (capped) module bytes, shared by all instances: trap sites are looked up in them. */
  bytes: SharedArrayBuffer;
  /** The spec's id: the plugin name guests read, and the log attribution before proxy_get_id. */
  name: string;
  maxPages: number;
  importedMemory?: { initial: number; maximum?: number };
  /** Plugin configuration handed to proxy_on_configure (JSON of the spec's extra keys). */
  pluginConfig: Uint8Array;
  /** Int32[0]: 0 while a host call is pending, 1 once its answer is on the bridge port. */
  signal: SharedArrayBuffer;
  bridge: import('node:worker_threads').MessagePort;
}

export interface WireRequest {
  method: string;
  path: string;
  headers: Array<[string, string]>;
  body: Uint8Array;
}

export type ToWorker = { type: 'call'; seq: number; req: WireRequest };

export type FromWorker =
  | { type: 'ready'; id: string }
  | { type: 'load-error'; message: string }
  | { type: 'result'; seq: number; status: number; headers: Array<[string, string]>; body: Uint8Array }
  | { type: 'fault'; seq: number; kind: FunctionFailureKind; message: string }
  | { type: 'log'; level: number; message: string };

/** Host services a guest reaches through the synchronous bridge. */
export type BridgeOp = 'getState' | 'invoke' | 'saveState' | 'publish' | 'tryLock' | 'unlock' | 'nextId';
export interface BridgeRequest {
  op: BridgeOp;
  args: unknown[];
}
export type BridgeReply = { ok: true; value: unknown } | { ok: false; message: string };
