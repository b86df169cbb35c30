// What every component gets at init, whatever its kind: the manifest's identity and its metadata
// already resolved to strings (secretKeyRef/envRef done by the runtime's pipeline).
export interface ComponentMetadata {
  /** metadata.name of the manifest: what API callers pass as store name. */
  name: string;
  /** Full type, e.g. "state.redis". */
  type: string;
  version: string;
  /** spec.metadata as name -> string value. Names keep their manifest spelling. */
  properties: Record<string, string>;
  appId: string;
  namespace: string;
}

/** The methods every component has, whatever its kind. */
export interface Component {
  init(md: ComponentMetadata): Promise<void>;
  close(): Promise<void>;
  /** Declared optional capabilities (ETAG, TRANSACTIONAL, ...). */
  features(): readonly string[];
}

/** Raised by components for configuration mistakes; the pipeline reports it with the manifest. */
export class ComponentConfigError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ComponentConfigError';
  }
}

/**
 * Optional capability of components with a backend (contrib's health.Pinger): one cheap round
 * trip that fails when the backend is unreachable. The actuator's readiness probe calls it.
 */
export interface Pinger {
  ping(): Promise<void>;
}

export const isPinger = (c: unknown): c is Pinger => typeof (c as Partial<Pinger> | undefined)?.ping === 'function';
