// The Resiliency every part of the core was built with, made replaceable: the core keeps this one
// object and hot reload swaps the policies behind it. Circuit breakers start afresh with new
// policies, as they do when daprd reloads a Resiliency resource.
import type { Operation, Resiliency } from '../../core/resiliency/types';
import type { Kind } from '../../components/store';

export class SwappableResiliency implements Resiliency {
  constructor(private current: Resiliency) {}

  set(next: Resiliency): void {
    this.current = next;
  }

  app<T>(appId: string, op: Operation<T>, endpoint?: string): Promise<T> {
    return this.current.app(appId, op, endpoint);
  }

  sidecarCall<T>(appId: string, op: Operation<T>): Promise<T> {
    return this.current.sidecarCall(appId, op);
  }

  componentOutbound<T>(name: string, op: Operation<T>, kind?: Kind): Promise<T> {
    return this.current.componentOutbound(name, op, kind);
  }

  componentInbound<T>(name: string, op: Operation<T>, kind?: Kind): Promise<T> {
    return this.current.componentInbound(name, op, kind);
  }
}
