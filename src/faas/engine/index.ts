// The WebAssembly function engine: Layotto-style proxy-wasm functions, one worker thread per
// instance, with a synchronous bridge to the sidecar's host services. ABI: ./ABI.md.
import type { Logger } from 'pino';
import type { FunctionHost, HostServices } from '../types';
import { WasmFunctionHost } from './host';

export function createFunctionHost(services: HostServices, opts: { log?: Logger } = {}): FunctionHost {
  return new WasmFunctionHost(services, opts.log);
}
