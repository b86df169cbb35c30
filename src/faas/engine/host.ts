// FunctionHost: the table of installed functions, each a Pool of worker instances over one
// compiled module. Loading checks everything it can before any call: the file reads, the module
// compiles under its memory cap, and every instance starts and names the expected id.
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { FunctionError, type FunctionHost, type FunctionRequest, type FunctionResponse, type FunctionSpec, type HostServices } from '../types';
import { ABI_MARKERS, allocatorExport } from './abi';
import { capMemory } from './memory-cap';
import { Pool } from './pool';

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_MEMORY_MIB = 64;

interface Installed {
  spec: FunctionSpec;
  pool: Pool;
}

export class WasmFunctionHost implements FunctionHost {
  private readonly functions = new Map<string, Installed>();
  /** Serializes install/update/uninstall per id so concurrent admin calls cannot interleave. */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly services: HostServices,
    private readonly log?: Logger,
  ) {}

  install(spec: FunctionSpec): Promise<void> {
    return this.exclusive(spec.id, async () => {
      if (this.functions.has(spec.id)) throw new FunctionError('load', `function ${spec.id} is already installed (update replaces it)`);
      this.functions.set(spec.id, { spec, pool: await this.load(spec) });
      this.log?.info({ function: spec.id, path: spec.path }, 'function installed');
    });
  }

  update(patch: Partial<FunctionSpec> & { id: string }): Promise<void> {
    return this.exclusive(patch.id, async () => {
      const old = this.functions.get(patch.id);
      if (!old) throw new FunctionError('not_found', `function ${patch.id} is not installed`);
      const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
      const spec: FunctionSpec = { ...old.spec, ...defined };
      // New instances first: if they fail, the old ones keep serving.
      const pool = await this.load(spec);
      this.functions.set(spec.id, { spec, pool });
      this.log?.info({ function: spec.id, path: spec.path, instances: pool.size }, 'function updated');
      await old.pool.drain();
    });
  }

  uninstall(id: string): Promise<void> {
    return this.exclusive(id, async () => {
      const fn = this.functions.get(id);
      if (!fn) throw new FunctionError('not_found', `function ${id} is not installed`);
      this.functions.delete(id);
      await fn.pool.drain();
      this.log?.info({ function: id }, 'function uninstalled');
    });
  }

  has(id: string): boolean {
    return this.functions.has(id);
  }

  list(): Array<{ id: string; path: string; instances: number }> {
    return [...this.functions.values()].map(({ spec, pool }) => ({ id: spec.id, path: spec.path, instances: pool.size }));
  }

  call(id: string, req: FunctionRequest): Promise<FunctionResponse> {
    const fn = this.functions.get(id);
    if (!fn) return Promise.reject(new FunctionError('not_found', `no function with id "${id}"`));
    // Layotto hands the query string as the body when the request has none.
    const q = req.path.indexOf('?');
    const body = req.body.length === 0 && q >= 0 ? Buffer.from(req.path.slice(q + 1)) : req.body;
    return fn.pool.call({ ...req, body });
  }

  async close(): Promise<void> {
    const all = [...this.functions.values()];
    this.functions.clear();
    await Promise.all(all.map((f) => f.pool.stop()));
  }

  private async load(spec: FunctionSpec): Promise<Pool> {
    const path = resolve(spec.path);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (e) {
      throw new FunctionError('load', `cannot read ${spec.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const memoryMiB = spec.limits?.memoryMiB ?? DEFAULT_MEMORY_MIB;
    const maxPages = Math.max(1, Math.floor(memoryMiB * 16));
    const capped = capMemory(bytes, maxPages, spec.path);
    let module: WebAssembly.Module;
    try {
      module = await WebAssembly.compile(capped.bytes);
    } catch (e) {
      throw new FunctionError('load', `${spec.path} is not a valid WebAssembly module: ${(e as Error).message}`);
    }
    const exported = WebAssembly.Module.exports(module).map((e) => e.name);
    if (!exported.includes('proxy_get_id')) {
      throw new FunctionError('load', `${spec.path} has no proxy_get_id export (a function names its id through it)`);
    }
    if (!ABI_MARKERS.some((m) => exported.includes(m))) {
      throw new FunctionError('load', `${spec.path} has no proxy-wasm ABI marker export (${ABI_MARKERS.join(', ')})`);
    }
    if (!allocatorExport(exported)) throw new FunctionError('load', `${spec.path} has no allocator export (malloc or proxy_on_memory_allocate)`);
    const shared = new SharedArrayBuffer(capped.bytes.length);
    new Uint8Array(shared).set(capped.bytes);
    const size = spec.instances > 0 ? spec.instances : availableParallelism();
    const pool = new Pool(size, spec.limits?.timeoutMs ?? DEFAULT_TIMEOUT_MS, {
      name: spec.id,
      module,
      bytes: shared,
      maxPages,
      importedMemory: capped.importedMemory,
      pluginConfig: Buffer.from(JSON.stringify(spec.config ?? {})),
      services: this.services,
    }, this.log);
    await pool.start(spec.id, spec.path);
    return pool;
  }

  private exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.locks.set(id, settled);
    void settled.then(() => this.locks.get(id) === settled && this.locks.delete(id));
    return next;
  }
}
