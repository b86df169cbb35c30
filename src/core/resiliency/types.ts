// Resiliency as the core uses it: run an operation under the policies the Resiliency resources
// name for its target (daprd's resiliency.Provider). An operation gets an AbortSignal that fires
// when its timeout passes, so it can stop waiting on the network.
import type { Kind } from '../../components/store';
import { runOnce } from './errors';

export type Operation<T> = (signal: AbortSignal) => Promise<T>;

export interface Resiliency {
  /**
   * Calls to another app (service invocation): targets.apps.<appId>. `endpoint` picks the
   * circuit breaker within the app (daprd keeps one per `<appId>:<method>`); default appId.
   */
  app<T>(appId: string, op: Operation<T>, endpoint?: string): Promise<T>;
  /**
   * One sidecar-to-sidecar call, inside app(): daprd's DaprBuiltInServiceRetries (3 × 1 s when it
   * fails with gRPC UNAVAILABLE or UNAUTHENTICATED), which apply unless targets.apps names appId.
   */
  sidecarCall<T>(appId: string, op: Operation<T>): Promise<T>;
  /**
   * Calls into a component (state get/save, publish, ...): targets.components.<name>.outbound.
   * `kind` selects the Default<Kind>ComponentOutbound* policies when no target names it.
   */
  componentOutbound<T>(name: string, op: Operation<T>, kind?: Kind): Promise<T>;
  /** Deliveries from a component to the app (pub/sub events): targets.components.<name>.inbound. */
  componentInbound<T>(name: string, op: Operation<T>, kind?: Kind): Promise<T>;
}

/** No Resiliency resources: every operation runs once, as it is. */
export const NO_RESILIENCY: Resiliency = {
  app: (_id, op) => runOnce(op),
  sidecarCall: (_id, op) => runOnce(op),
  componentOutbound: (_name, op) => runOnce(op),
  componentInbound: (_name, op) => runOnce(op),
};
