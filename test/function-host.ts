// An in-process FunctionHost for unit tests of what surrounds the engine (admin API, functions
// port, invocation): each "function" is a JS handler; ids and paths behave as the engine's do.
import { FunctionError, type FunctionHost, type FunctionRequest, type FunctionResponse, type FunctionSpec } from '../src/faas/types';

export type Handler = (req: FunctionRequest) => FunctionResponse | Promise<FunctionResponse>;

export class ScriptedHost implements FunctionHost {
  readonly installed = new Map<string, FunctionSpec>();
  readonly calls: Array<{ id: string; req: FunctionRequest }> = [];
  closed = false;

  /** `handlers` by module path: installing that path runs the handler; a path not listed fails to load. */
  constructor(private readonly handlers: Record<string, Handler>) {}

  async install(spec: FunctionSpec): Promise<void> {
    if (!this.handlers[spec.path]) throw new FunctionError('load', `cannot compile ${spec.path}: not a wasm module`);
    this.installed.set(spec.id, spec);
  }

  async update(spec: Partial<FunctionSpec> & { id: string }): Promise<void> {
    const cur = this.installed.get(spec.id);
    if (!cur) throw new FunctionError('not_found', `function ${spec.id} is not installed`);
    if (spec.path && !this.handlers[spec.path]) throw new FunctionError('load', `cannot compile ${spec.path}`);
    this.installed.set(spec.id, { ...cur, ...spec });
  }

  async uninstall(id: string): Promise<void> {
    if (!this.installed.delete(id)) throw new FunctionError('not_found', `function ${id} is not installed`);
  }

  has(id: string): boolean {
    return this.installed.has(id);
  }

  list() {
    return [...this.installed.values()].map((s) => ({ id: s.id, path: s.path, instances: s.instances }));
  }

  async call(id: string, req: FunctionRequest): Promise<FunctionResponse> {
    const spec = this.installed.get(id);
    if (!spec) throw new FunctionError('not_found', `function ${id} is not installed`);
    this.calls.push({ id, req });
    return this.handlers[spec.path]!(req);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export const text = (body: string, status = 200): FunctionResponse => ({ status, headers: [['content-type', 'text/plain']], body: Buffer.from(body) });
