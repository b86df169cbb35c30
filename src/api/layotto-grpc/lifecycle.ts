// spec.proto.runtime.v1.Lifecycle/ApplyConfiguration: re-configure a live component (core/lifecycle).
import type * as grpc from '@grpc/grpc-js';
import type { LifecycleCore } from '../../core/lifecycle';
import { unary } from './handlers';

interface DynamicConfiguration {
  component_config: { kind: string; name: string; metadata: Record<string, string> } | null;
}

export function lifecycleHandlers(lifecycle: LifecycleCore): grpc.UntypedServiceImplementation {
  return {
    ApplyConfiguration: unary(async (req: DynamicConfiguration): Promise<Record<string, never>> => {
      const c = req.component_config;
      await lifecycle.applyConfiguration({ kind: c?.kind ?? '', name: c?.name ?? '', metadata: c?.metadata ?? {} });
      return {};
    }),
  };
}
