// The proxy's clusters: createCluster builds one from its configuration (static endpoints).
// See cluster.ts for the parts and types.ts for the contract the forwarders program against.
import { ProxyCluster } from './cluster';
import type { ClusterFactory } from './types';

export const createCluster: ClusterFactory = (config, deps) => new ProxyCluster(config, deps);
export { checkRefs } from './plan';
export { RETRY_ON } from './retry';
export { toAbortSignal } from '../../../core/call-signal';
export * from './types';
