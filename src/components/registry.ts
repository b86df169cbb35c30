// One generic registry; each kind has an instance of it (state/registry.ts, ...). Keys are
// "<impl>/<version>" under a kind, as daprd's: "redis/v1". An empty version means v1.
export type Factory<T> = () => T;

export interface Registration<T> {
  impl: string;
  version: string;
  factory: Factory<T>;
}

export class Registry<T> {
  private readonly entries = new Map<string, Registration<T>>();

  constructor(readonly kind: string) {}

  /** Registers a factory under one or more impl names (aliases), e.g. ["postgresql", "postgres"]. */
  register(names: string | string[], factory: Factory<T>, versions: string[] = ['v1']): void {
    for (const name of Array.isArray(names) ? names : [names]) {
      for (const version of versions) {
        const key = this.key(name, version);
        if (this.entries.has(key)) throw new Error(`${this.kind}.${name}/${version} is registered twice`);
        this.entries.set(key, { impl: name.toLowerCase(), version, factory });
      }
    }
  }

  /** The factory for an impl and version, or undefined. */
  find(impl: string, version = ''): Registration<T> | undefined {
    return this.entries.get(this.key(impl, version || 'v1')) ?? (version ? undefined : this.entries.get(this.key(impl, 'v0')));
  }

  create(impl: string, version = ''): T | undefined {
    return this.find(impl, version)?.factory();
  }

  /** "state.redis/v1"-style names of everything registered, for errors and --help. */
  names(): string[] {
    return [...this.entries.values()].map((r) => `${this.kind}.${r.impl}/${r.version}`).sort();
  }

  private key(impl: string, version: string): string {
    return `${impl.toLowerCase()}/${version.toLowerCase()}`;
  }
}
