// daprd's resiliency.Provider over a validated spec: finds the policies for a target (a named
// target first, else the Default* policies from the most to the least specific), keeps one circuit
// breaker per component and direction and per app endpoint (an LRU of circuitBreakerCacheSize),
// and runs operations under them.
import type { CircuitBreakerPolicy } from 'cockatiel';
import type { Logger } from 'pino';
import type { Kind } from '../../components/store';
import { newBreaker } from './breaker';
import { runOnce } from './errors';
import { isEmpty, type PolicyDefinition, runPolicy } from './policy';
import { BUILT_IN_SERVICE_RETRIES, DEFAULT_ENDPOINT_CACHE_SIZE, type PolicyNames, type ResiliencySpec } from './spec';
import type { Operation, Resiliency } from './types';

type Direction = 'Inbound' | 'Outbound';

/** daprd's ComponentType names, used in Default<Type>Component<Direction>*Policy. */
const COMPONENT_TYPE: Partial<Record<Kind | 'bindings', string>> = {
  state: 'Statestore',
  pubsub: 'Pubsub',
  bindings: 'Binding',
  secretstores: 'Secretstore',
  configuration: 'Configuration',
  lock: 'Lock',
};

/** Sidecar transport failures daprd retries by itself: gRPC UNAVAILABLE (14), UNAUTHENTICATED (16). */
const isTransportUnavailable = (e: unknown): boolean => {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 14 || code === 16;
};

export class ResiliencyProvider implements Resiliency {
  private readonly names = new Map<string, PolicyNames>();
  private readonly componentBreakers = new Map<string, CircuitBreakerPolicy>();
  private readonly endpointBreakers = new Map<string, Map<string, CircuitBreakerPolicy>>();
  /** sidecarCall's built-in retry definitions by app id (bounded: ids come from callers). */
  private readonly sidecarRetries = new Map<string, PolicyDefinition>();

  constructor(
    private readonly spec: ResiliencySpec,
    private readonly log?: Logger,
  ) {}

  app<T>(appId: string, op: Operation<T>, endpoint: string = appId): Promise<T> {
    const named = this.spec.apps.get(appId);
    // The defaults are the same for every app: one cache entry, whatever ids callers send.
    const names = named ?? this.cached('app', () => this.defaults(['App']));
    const def = this.definition(`app[${appId}]`, names);
    if (names.circuitBreaker) def.breaker = this.endpointBreaker(appId, endpoint, names.circuitBreaker, named?.circuitBreakerCacheSize);
    return runPolicy(def, op, this.log);
  }

  sidecarCall<T>(appId: string, op: Operation<T>): Promise<T> {
    const builtIn = this.spec.retries.get(BUILT_IN_SERVICE_RETRIES);
    if (this.spec.apps.has(appId) || !builtIn) return runOnce(op);
    // One definition per app id, not one per call (this runs on every call to another sidecar).
    let def = this.sidecarRetries.get(appId);
    if (!def) {
      if (this.sidecarRetries.size >= DEFAULT_ENDPOINT_CACHE_SIZE) this.sidecarRetries.clear();
      def = { target: `${BUILT_IN_SERVICE_RETRIES}[${appId}]`, retry: { ...builtIn, retryable: isTransportUnavailable } };
      this.sidecarRetries.set(appId, def);
    }
    return runPolicy(def, op, this.log);
  }

  componentOutbound<T>(name: string, op: Operation<T>, kind?: Kind): Promise<T> {
    return this.component(name, 'Outbound', kind, op);
  }

  componentInbound<T>(name: string, op: Operation<T>, kind?: Kind): Promise<T> {
    return this.component(name, 'Inbound', kind, op);
  }

  /** The policies a target gets, for tests and the metadata API. */
  policiesFor(target: { app: string } | { component: string; direction: Direction; kind?: Kind }): PolicyNames {
    if ('app' in target) return this.spec.apps.get(target.app) ?? this.defaults(['App']);
    return this.componentNames(target.component, target.direction, target.kind);
  }

  private component<T>(name: string, direction: Direction, kind: Kind | undefined, op: Operation<T>): Promise<T> {
    const names = this.componentNames(name, direction, kind);
    const def = this.definition(`component[${name}] ${direction.toLowerCase()}`, names);
    if (names.circuitBreaker) def.breaker = this.componentBreaker(`${direction}\0${name}`, names.circuitBreaker);
    if (isEmpty(def)) return runOnce(op);
    return runPolicy(def, op, this.log);
  }

  private componentNames(name: string, direction: Direction, kind?: Kind): PolicyNames {
    const target = this.spec.components.get(name);
    // A named target takes both directions over, even one it leaves empty (daprd does the same).
    if (target) return direction === 'Inbound' ? target.inbound : target.outbound;
    return this.cached(`${direction}\0${kind ?? ''}\0${name}`, () => {
      const type = kind ? COMPONENT_TYPE[kind] : undefined;
      return this.defaults([...(type ? [`${type}Component${direction}`] : []), `Component${direction}`, 'Component']);
    });
  }

  /** Default<Level><Policy>Policy for the most specific level defined, else Default<Policy>Policy. */
  private defaults(levels: string[]): PolicyNames {
    const pick = (has: (n: string) => boolean, policy: string) =>
      [...levels.map((l) => `Default${l}${policy}Policy`), `Default${policy}Policy`].find(has);
    return {
      timeout: pick((n) => this.spec.timeouts.has(n), 'Timeout'),
      retry: pick((n) => this.spec.retries.has(n), 'Retry'),
      circuitBreaker: pick((n) => this.spec.circuitBreakers.has(n), 'CircuitBreaker'),
    };
  }

  private definition(target: string, names: PolicyNames): PolicyDefinition {
    return {
      target,
      timeoutMs: names.timeout ? this.spec.timeouts.get(names.timeout) : undefined,
      retry: names.retry ? this.spec.retries.get(names.retry) : undefined,
    };
  }

  private cached(key: string, resolve: () => PolicyNames): PolicyNames {
    let n = this.names.get(key);
    if (!n) this.names.set(key, (n = resolve()));
    return n;
  }

  private componentBreaker(key: string, template: string): CircuitBreakerPolicy | undefined {
    let b = this.componentBreakers.get(key);
    if (!b) {
      const spec = this.spec.circuitBreakers.get(template);
      if (!spec) return undefined;
      this.componentBreakers.set(key, (b = newBreaker(spec)));
    }
    return b;
  }

  /** One breaker per endpoint of an app, the least recently used dropped past the cache size. */
  private endpointBreaker(appId: string, endpoint: string, template: string, size = DEFAULT_ENDPOINT_CACHE_SIZE): CircuitBreakerPolicy | undefined {
    const spec = this.spec.circuitBreakers.get(template);
    if (!spec) return undefined;
    let cache = this.endpointBreakers.get(appId);
    if (!cache) this.endpointBreakers.set(appId, (cache = new Map()));
    let b = cache.get(endpoint);
    if (b) {
      cache.delete(endpoint); // re-inserted below as the most recently used
    } else {
      b = newBreaker(spec);
      if (cache.size >= size) cache.delete(cache.keys().next().value!);
    }
    cache.set(endpoint, b);
    return b;
  }
}
