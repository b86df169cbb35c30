// The protocol-free core: one object per building block, built once and shared by every API face.
import type { AppConnection } from './metadata';
import { MetadataCore } from './metadata';
import { HelloCore } from './hello';
import { StateCore } from './state';
import type { CoreContext } from './context';

export interface Core {
  ctx: CoreContext;
  state: StateCore;
  metadata: MetadataCore;
  hello: HelloCore;
}

export function createCore(ctx: CoreContext, app: AppConnection): Core {
  return { ctx, state: new StateCore(ctx), metadata: new MetadataCore(ctx, app), hello: new HelloCore(ctx) };
}

export type { CoreContext } from './context';
