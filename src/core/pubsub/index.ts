// The pub/sub building block: publishing (every API face) and the subscriptions the sidecar runs.
import type { Logger } from 'pino';
import type { CoreContext } from '../context';
import { NO_RESILIENCY, type Resiliency } from '../resiliency/types';
import { PubSubPublisher } from './publish';
import { Subscriber } from './subscriber';

export class PubSubCore {
  readonly publisher: PubSubPublisher;
  readonly subscriber: Subscriber;

  constructor(ctx: CoreContext, log: Logger, resiliency: Resiliency = NO_RESILIENCY) {
    this.publisher = new PubSubPublisher(ctx, resiliency);
    this.subscriber = new Subscriber(ctx, log, resiliency);
  }
}

export { subscriptionInfo } from './subscription';
export type { PublishInput, BulkPublishInput, BulkPublishOutcome } from './publish';
export type { SubscriptionSpec, SubscriptionType } from './subscription';
