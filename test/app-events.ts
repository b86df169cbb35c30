// Sample deliveries for the app channel tests (src/app-channel/*.test.ts): one CloudEvent and the
// AppTopicEvent that carries it, each taking overrides.
import type { AppTopicEvent } from '../src/app-channel/types';

/** A traced CloudEvent with JSON data {"n":1}, published on topic "orders" of pubsub "ps". */
export const sampleCloudEvent = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: 'ev-1',
  source: 'pub-app',
  type: 'com.dapr.event.sent',
  specversion: '1.0',
  datacontenttype: 'application/json',
  data: { n: 1 },
  topic: 'orders',
  pubsubname: 'ps',
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  ...over,
});

/** sampleCloudEvent() (with its data bytes) on its way to the app's "orders" path, with broker metadata. */
export const sampleTopicEvent = (over: Partial<AppTopicEvent> = {}): AppTopicEvent => ({
  cloudEvent: sampleCloudEvent(),
  data: Buffer.from('{"n":1}'),
  pubsubName: 'ps',
  topic: 'orders',
  path: 'orders',
  metadata: { 'x-broker': 'b1' },
  ...over,
});
