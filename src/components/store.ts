// compStore: the one lookup table of live components, by kind and name. Every API reads from it
// through core/, so a component is one instance whichever API reaches it.
import type { ComponentMetadata } from './types';
import type { StateStore } from './state/types';
import type { HelloService } from './hello/types';
import type { SecretStore } from './secretstores/types';
import type { LockStore } from './lock/types';
import type { SequencerStore } from './sequencer/types';
import type { ConfigurationStore } from './configuration/types';
import type { PubSub } from './pubsub/types';
import type { Binding } from './bindings/types';
import type { FileStore } from './file/types';

/** Component kinds and the interface their instances implement. Add a line per new kind. */
export interface KindMap {
  state: StateStore;
  hello: HelloService;
  secretstores: SecretStore;
  lock: LockStore;
  sequencer: SequencerStore;
  configuration: ConfigurationStore;
  pubsub: PubSub;
  bindings: Binding;
  file: FileStore;
}
export type Kind = keyof KindMap;
export const KINDS: readonly Kind[] = ['secretstores', 'state', 'hello', 'lock', 'sequencer', 'configuration', 'pubsub', 'bindings', 'file'];

export interface LiveComponent<K extends Kind = Kind> {
  kind: K;
  name: string;
  meta: ComponentMetadata;
  instance: KindMap[K];
  /** Capabilities reported by the metadata API (features plus runtime-level ones like ACTOR). */
  capabilities: string[];
}

/** Wraps an instance as it enters the store (tracing's component spans); identity when absent. */
export type Instrument = <K extends Kind>(c: LiveComponent<K>) => KindMap[K];

export class ComponentStore {
  private readonly byKind = new Map<Kind, Map<string, LiveComponent>>();

  constructor(private readonly instrument?: Instrument) {}

  add<K extends Kind>(c: LiveComponent<K>): void {
    if (this.instrument) c = { ...c, instance: this.instrument(c) };
    let m = this.byKind.get(c.kind);
    if (!m) this.byKind.set(c.kind, (m = new Map()));
    m.set(c.name, c as unknown as LiveComponent);
  }

  get<K extends Kind>(kind: K, name: string): LiveComponent<K> | undefined {
    return this.byKind.get(kind)?.get(name) as LiveComponent<K> | undefined;
  }

  remove(kind: Kind, name: string): LiveComponent | undefined {
    const m = this.byKind.get(kind);
    const c = m?.get(name);
    m?.delete(name);
    return c;
  }

  count(kind: Kind): number {
    return this.byKind.get(kind)?.size ?? 0;
  }

  list<K extends Kind>(kind?: K): LiveComponent<K>[] {
    if (kind) return [...(this.byKind.get(kind)?.values() ?? [])] as unknown as LiveComponent<K>[];
    return [...this.byKind.values()].flatMap((m) => [...m.values()]) as unknown as LiveComponent<K>[];
  }
}
