// The pub/sub building block: publishing (every API face) and the subscriptions the sidecar runs.
import type { Logger } from 'pino';
import type { CoreContext } from '../context';
import { PubSubPublisher } from './publish';
import { Subscriber } from './subscriber';

export class PubSubCore {
  readonly publisher: PubSubPublisher;
  readonly subscriber: Subscriber;

  constructor(ctx: CoreContext, log: Logger) {
    this.publisher = new PubSubPublisher(ctx);
    this.subscriber = new Subscriber(ctx, log);
  }
}

export { subscriptionInfo } from './subscription';
export type { PublishInput, BulkPublishInput, BulkPublishOutcome } from './publish';
export type { SubscriptionSpec, SubscriptionType } from './subscription';
