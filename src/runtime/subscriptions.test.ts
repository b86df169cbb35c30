import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadResources, ManifestError } from './loader';
import { declarativeSubscriptions } from './subscriptions';

const log = pino({ level: 'silent' });

function load(yaml: string) {
  const d = mkdtempSync(join(tmpdir(), 'subs-'));
  writeFileSync(join(d, 'subs.yaml'), yaml);
  return loadResources([d], log);
}

const V1 = `apiVersion: dapr.io/v1alpha1
kind: Subscription
metadata:
  name: orders
spec:
  topic: orders
  route: /orders
  pubsubname: pubsub
  deadLetterTopic: dead
  metadata:
    rawPayload: true
scopes: [app1]
`;

const V2 = `apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: widgets
spec:
  pubsubname: pubsub
  topic: widgets
  routes:
    rules:
      - match: event.type == "widget"
        path: /widgets
    default: /other
  bulkSubscribe:
    enabled: true
    maxMessagesCount: 10
`;

describe('Subscription resources', () => {
  it('loads v1alpha1 and v2alpha1 into one shape, honouring scopes', () => {
    const loaded = load(`${V1}---\n${V2}`);
    expect(declarativeSubscriptions(loaded.subscriptions, 'app1')).toEqual([
      { pubsubName: 'pubsub', topic: 'orders', metadata: { rawPayload: 'true' }, rules: [{ match: '', path: '/orders' }], defaultRoute: '', deadLetterTopic: 'dead', bulkSubscribe: undefined, type: 'DECLARATIVE' },
      {
        pubsubName: 'pubsub',
        topic: 'widgets',
        metadata: {},
        rules: [{ match: 'event.type == "widget"', path: '/widgets' }],
        defaultRoute: '/other',
        deadLetterTopic: '',
        bulkSubscribe: { enabled: true, maxMessagesCount: 10, maxAwaitDurationMs: 0 },
        type: 'DECLARATIVE',
      },
    ]);
    expect(declarativeSubscriptions(loaded.subscriptions, 'app2').map((s) => s.topic)).toEqual(['widgets']);
  });

  it('reports a subscription without a topic or a route with its file and line', () => {
    expect(() => load(V1.replace('  topic: orders\n', ''))).toThrow(ManifestError);
    expect(() => load(V1.replace('  topic: orders\n', ''))).toThrow(/subs\.yaml:\d+: spec\.topic/);
    expect(() => load(V1.replace('  route: /orders\n', ''))).toThrow(/needs spec\.route/);
  });
});
