// The protocol-free core: one object per building block, built once and shared by every API face.
import type { AppConnection } from './metadata';
import { MetadataCore } from './metadata';
import { HelloCore } from './hello';
import { StateCore } from './state';
import { LockCore } from './lock';
import { SequencerCore } from './sequencer';
import { FileCore } from './file';
import { ConfigurationCore } from './configuration';
import { type SecretScope, SecretsCore } from './secrets';
import type { CoreContext } from './context';
import { PubSubCore, subscriptionInfo } from './pubsub';
import { InvokeCore, type RemoteInvokers } from './invoke';
import { LifecycleCore } from './lifecycle';
import { BindingsCore } from './bindings';
import { InputBindingsCore } from './input-bindings';
import pino, { type Logger } from 'pino';
import { NO_RESILIENCY, type Resiliency } from './resiliency/types';

export interface Core {
  ctx: CoreContext;
  state: StateCore;
  metadata: MetadataCore;
  hello: HelloCore;
  secrets: SecretsCore;
  lock: LockCore;
  sequencer: SequencerCore;
  configuration: ConfigurationCore;
  pubsub: PubSubCore;
  invoke: InvokeCore;
  lifecycle: LifecycleCore;
  file: FileCore;
  bindings: BindingsCore;
  inputBindings: InputBindingsCore;
}

/** Runtime configuration the core needs beyond the components (from the Configuration resource). */
export interface CoreOptions {
  secretScopes?: readonly SecretScope[];
  /** Where background work (subscriptions) logs; silent when absent. */
  log?: Logger;
  /** Policies from the Resiliency resources; every operation runs once without them. */
  resiliency?: Resiliency;
  /** How to reach an app behind another sidecar (service invocation). */
  remoteInvokers?: RemoteInvokers;
  /** Where input bindings log (daprd's dapr.runtime.processor.binding); `log` when absent. */
  inputBindingsLog?: Logger;
}

export function createCore(ctx: CoreContext, app: AppConnection, opts: CoreOptions = {}): Core {
  const resiliency = opts.resiliency ?? NO_RESILIENCY;
  const pubsub = new PubSubCore(ctx, opts.log ?? pino({ level: 'silent' }), resiliency);
  const state = new StateCore(ctx, resiliency);
  const bindings = new BindingsCore(ctx, resiliency);
  return {
    ctx,
    state,
    metadata: new MetadataCore(ctx, app, () => pubsub.subscriber.list().map(subscriptionInfo)),
    hello: new HelloCore(ctx),
    secrets: new SecretsCore(ctx, opts.secretScopes),
    lock: new LockCore(ctx),
    sequencer: new SequencerCore(ctx),
    configuration: new ConfigurationCore(ctx, app),
    pubsub,
    invoke: new InvokeCore(ctx, { resiliency, remote: opts.remoteInvokers }),
    lifecycle: new LifecycleCore(ctx),
    file: new FileCore(ctx),
    bindings,
    inputBindings: new InputBindingsCore(ctx, { state, bindings }, opts.inputBindingsLog ?? opts.log ?? pino({ level: 'silent' }), resiliency),
  };
}

export type { CoreContext } from './context';
