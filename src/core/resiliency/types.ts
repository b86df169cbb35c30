// Resiliency as the core uses it: run an operation under the policies the Resiliency resources
// name for its target (daprd's resiliency.Provider). An operation gets an AbortSignal that fires
// when its timeout passes, so it can stop waiting on the network.

export type Operation<T> = (signal: AbortSignal) => Promise<T>;

export interface Resiliency {
  /** Calls to another app (service invocation): targets.apps.<appId>. */
  app<T>(appId: string, op: Operation<T>): Promise<T>;
  /** Calls into a component (state get/save, publish, ...): targets.components.<name>.outbound. */
  componentOutbound<T>(name: string, op: Operation<T>): Promise<T>;
  /** Deliveries from a component to the app (pub/sub events): targets.components.<name>.inbound. */
  componentInbound<T>(name: string, op: Operation<T>): Promise<T>;
}

/** No Resiliency resources: every operation runs once, as it is. */
export const NO_RESILIENCY: Resiliency = {
  app: (_id, op) => op(new AbortController().signal),
  componentOutbound: (_name, op) => op(new AbortController().signal),
  componentInbound: (_name, op) => op(new AbortController().signal),
};
