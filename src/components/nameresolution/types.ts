// Name resolution (contrib's nameresolution.Resolver): how a sidecar finds the internal
// (sidecar-to-sidecar) address of another app's sidecar. Not a manifest kind: the Configuration
// resource's spec.nameResolution{component, version, configuration} picks one per sidecar.
import type { ResolvedAddress } from '../../core/invoke/types';

/** This sidecar, as a resolver announces or registers it (contrib's nameresolution.Instance). */
export interface ResolverInstance {
  appId: string;
  namespace: string;
  /** DAPR_HOST_IP when set: the address to publish ('' = the resolver picks, from listenAddress or the interfaces). */
  address: string;
  /** What the internal server is bound to ('0.0.0.0' = every interface). */
  listenAddress?: string;
  /** The internal gRPC port (--dapr-internal-grpc-port). */
  daprInternalPort: number;
  daprHttpPort?: number;
  daprGrpcPort?: number;
  appPort?: number;
}

export interface ResolverMetadata {
  instance: ResolverInstance;
  /** spec.nameResolution.configuration as written (any YAML value; usually a map). */
  configuration: unknown;
}

/** contrib's ResolveRequest: the target and, for DNS-style resolvers, the port to append. */
export interface ResolveRequest {
  id: string;
  namespace: string;
  /** This sidecar's internal port: kubernetes-style resolvers assume every sidecar uses the same. */
  port: number;
  data?: Record<string, string>;
}

export interface NameResolver {
  /** Registers/announces the instance when it has an app id; rejects on a bad configuration. */
  init(md: ResolverMetadata): Promise<void>;
  /** One live address for the app id (spread across instances); rejects when none is known. */
  resolve(req: ResolveRequest, signal?: AbortSignal): Promise<ResolvedAddress>;
  /** Forgets an address that refused a connection, so the next resolve looks again. */
  evict?(req: ResolveRequest, address: ResolvedAddress): void;
  /** Deregisters and releases what init took. */
  close(): Promise<void>;
}

/** A resolver's answer "no such app": the invoker reports it as ERR_DIRECT_INVOKE with this text. */
export class NoAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoAddressError';
  }
}

/** A configuration map with string values, as contrib's resolvers decode it; anything else is an error. */
export function stringConfig(configuration: unknown, resolver: string): Record<string, string> {
  if (configuration === undefined || configuration === null || configuration === '') return {};
  if (typeof configuration !== 'object' || Array.isArray(configuration)) {
    throw new Error(`nameResolution ${resolver}: configuration must be a map, got ${Array.isArray(configuration) ? 'a list' : typeof configuration}`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(configuration as Record<string, unknown>)) {
    if (v === null || v === undefined) continue;
    if (typeof v === 'object') throw new Error(`nameResolution ${resolver}: configuration.${k} must be a string, number or boolean`);
    out[k] = String(v);
  }
  return out;
}
