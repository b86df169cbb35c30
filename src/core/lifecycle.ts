// Layotto's Lifecycle.ApplyConfiguration, written once: re-configure one live component with new
// metadata. Layotto pushes the metadata to a component's ApplyConfig; here the runtime rebuilds the
// component through its one pipeline with the old metadata merged with the new, swaps it into the
// store and closes the old one; a failing init leaves the old one serving. The rebuild is the
// runtime's job, injected as `reapply` (core does not import the runtime).
import type { Kind } from '../components/store';
import { errMessage, RuntimeError } from '../errors/runtime-error';
import type { CoreContext } from './context';

/**
 * Layotto's grpc_config section keys (ComponentConfig.kind and config.json alike) and the
 * component kind each holds; our own kind names are accepted too.
 */
export const LAYOTTO_SECTIONS: Readonly<Record<string, Kind>> = {
  hellos: 'hello',
  config_store: 'configuration',
  pub_subs: 'pubsub',
  state: 'state',
  lock: 'lock',
  sequencer: 'sequencer',
  secret_store: 'secretstores',
  bindings: 'bindings',
  file: 'file',
};

/** Rebuilds component `name` of `kind` with `metadata` merged over its current metadata. */
export type Reapply = (kind: Kind, name: string, metadata: Record<string, string>) => Promise<void>;

export interface ApplyConfigurationInput {
  kind: string;
  name: string;
  metadata: Record<string, string>;
}

/** Kinds whose live subscriptions are bound to the instance; swapping it would silently end them. */
const NOT_REAPPLIABLE: readonly Kind[] = ['pubsub'];

export class LifecycleCore {
  private reapply?: Reapply;
  /** One re-configuration at a time per component: the second waits and merges over the first. */
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(private readonly ctx: CoreContext) {}

  setReapply(fn: Reapply): void {
    this.reapply = fn;
  }

  async applyConfiguration(req: ApplyConfigurationInput): Promise<void> {
    if (!req.kind) throw new RuntimeError('LIFECYCLE_NO_FIELD', 'kind');
    if (!req.name) throw new RuntimeError('LIFECYCLE_NO_FIELD', 'name');
    if (Object.keys(req.metadata ?? {}).length === 0) throw new RuntimeError('LIFECYCLE_NO_FIELD', 'metadata');
    const kind = LAYOTTO_SECTIONS[req.kind] ?? (Object.values(LAYOTTO_SECTIONS).includes(req.kind as Kind) ? (req.kind as Kind) : undefined);
    if (!kind || !this.ctx.components.get(kind, req.name)) throw new RuntimeError('LIFECYCLE_COMPONENT_NOT_FOUND', req.kind, req.name);
    if (NOT_REAPPLIABLE.includes(kind) || !this.reapply) throw new RuntimeError('LIFECYCLE_NOT_SUPPORTED', req.kind, req.name);
    const key = `${kind}/${req.name}`;
    const reapply = this.reapply;
    const run = (this.inFlight.get(key) ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => reapply(kind, req.name, req.metadata));
    this.inFlight.set(key, run);
    try {
      await run;
    } catch (e) {
      throw e instanceof RuntimeError ? e : new RuntimeError('LIFECYCLE_APPLY', req.kind, req.name, errMessage(e));
    } finally {
      if (this.inFlight.get(key) === run) this.inFlight.delete(key);
    }
  }
}
