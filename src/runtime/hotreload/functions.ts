// Hot reload of WasmFunction resources: what this app declares is diffed against what was last
// applied and the difference goes through the running functions host (install / update /
// uninstall). Functions no WasmFunction declared (config.json's, the admin API's) are left alone.
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { fromManifest } from '../../faas/spec';
import type { FunctionSpec } from '../../faas/types';
import type { Functions } from '../faas';
import type { LoadedFunction } from '../loader';
import { diff, isEmpty, keyed } from './differ';

interface DeclaredFunction {
  spec: FunctionSpec;
  from: LoadedFunction;
}

export class FunctionReconciler {
  /** The WasmFunction specs last applied (or attempted) per function id. */
  private declared: Map<string, DeclaredFunction>;

  constructor(
    private readonly appId: string,
    private readonly log: Logger,
    initial: readonly LoadedFunction[],
  ) {
    this.declared = this.specs(initial);
  }

  /**
   * A removed function is uninstalled, a changed one updated (new instances first; if they fail
   * the old keep serving), a new one installed. As with components, a failed attempt is tried
   * again once its YAML changes.
   */
  async apply(loaded: readonly LoadedFunction[], functions: Functions | undefined): Promise<void> {
    const specs = this.specs(loaded, true);
    const d = diff(this.declared, specs, (a, b) => isDeepStrictEqual(a.spec, b.spec));
    if (isEmpty(d)) return;
    this.declared = specs;
    if (!functions) {
      if (specs.size > 0) this.log.warn('WasmFunction resources changed while no function runs (no functions port): starting the functions host needs a restart');
      return;
    }
    const { host } = functions;
    const attempt = async (id: string, what: 'installed' | 'updated' | 'removed', f: LoadedFunction, op: () => Promise<void>) => {
      try {
        await op();
        this.log.info({ function: id }, `function ${id} ${what} (WasmFunction in ${f.file})`);
      } catch (e) {
        this.log.error({ function: id }, `hot reload: function ${id} in ${f.file}:${f.line} not ${what}${what === 'installed' ? '' : ', the running one keeps serving'}: ${(e as Error).message}`);
      }
    };
    for (const { spec, from } of d.deleted) if (host.has(spec.id)) await attempt(spec.id, 'removed', from, () => host.uninstall(spec.id));
    for (const { next: n } of d.updated) {
      // The whole spec: a limit or config key the YAML dropped must not survive from the old one.
      const whole: FunctionSpec = { ...n.spec, limits: n.spec.limits ?? {}, config: n.spec.config ?? {} };
      // Not running: its install failed before.
      await attempt(n.spec.id, host.has(n.spec.id) ? 'updated' : 'installed', n.from, () => (host.has(n.spec.id) ? host.update(whole) : host.install(n.spec)));
    }
    for (const { spec, from } of d.created) {
      if (host.has(spec.id)) this.log.error({ function: spec.id }, `hot reload: function ${spec.id} in ${from.file}:${from.line} not installed: a function with this id already runs (from config.json or the admin API)`);
      else await attempt(spec.id, 'installed', from, () => host.install(spec));
    }
    await functions.changed();
  }

  /** WasmFunction resources scoped to this app, by function id, as the specs the host runs. */
  private specs(loaded: readonly LoadedFunction[], logDuplicates = false): Map<string, DeclaredFunction> {
    const mine = loaded.filter((f) => f.manifest.scopes.length === 0 || f.manifest.scopes.includes(this.appId));
    const { map, duplicates } = keyed(mine, (f) => f.manifest.metadata.name);
    for (const dup of logDuplicates ? duplicates : []) {
      const first = map.get(dup.manifest.metadata.name)!;
      this.log.error(`hot reload: ${dup.file}:${dup.line}: metadata.name: a WasmFunction named "${dup.manifest.metadata.name}" is already defined in ${first.file}:${first.line}; ignored`);
    }
    return new Map([...map].map(([id, f]) => [id, { spec: fromManifest(f.manifest, f.file), from: f }]));
  }
}
