// The component targets through the core: state calls and publishing under outbound policies,
// deliveries to the app under inbound ones, with stores and brokers whose calls fail on cue.
import pino from 'pino';
import type { AppBulkEvent, AppEventStatus } from '../../app-channel/types';
import { InMemoryPubSub } from '../../components/pubsub/in-memory';
import type { PublishRequest } from '../../components/pubsub/types';
import { InMemoryStateStore } from '../../components/state/in-memory';
import { ETagError, type GetRequest, type SetRequest } from '../../components/state/types';
import { ComponentStore } from '../../components/store';
import { RuntimeError } from '../../errors/runtime-error';
import { resiliencyFrom } from '../../../test/resiliency';
import { until } from '../../../test/wait';
import { createCore } from '..';
import { BulkBatcher } from '../pubsub/bulk';
import { SubscriptionDelivery } from '../pubsub/delivery';
import { Router } from '../pubsub/routing';
import type { Resiliency } from './types';

/** A state store whose calls fail while `failures` holds errors for them (by key, '*' any key). */
class FlakyStore extends InMemoryStateStore {
  readonly calls: string[] = [];
  readonly failures = new Map<string, (Error | 'hang')[]>();

  override async get(req: GetRequest) {
    await this.maybeFail('get', req.key);
    return super.get(req);
  }

  override async set(req: SetRequest) {
    await this.maybeFail('set', req.key);
    return super.set(req);
  }

  private async maybeFail(op: string, key: string): Promise<void> {
    this.calls.push(`${op} ${key}`);
    const queue = this.failures.get(key) ?? this.failures.get('*');
    const next = queue?.shift();
    if (next === 'hang') return new Promise(() => undefined);
    if (next) throw next;
  }
}

/** A broker whose first `failures` publishes fail (pubsub "ps": one). */
class FlakyBroker extends InMemoryPubSub {
  publishes = 0;
  constructor(private failures: number) {
    super();
  }

  override async publish(req: PublishRequest) {
    this.publishes++;
    if (this.failures-- > 0) throw new Error('broker unreachable');
    return super.publish(req);
  }
}

const RESILIENCY = `  policies:
    timeouts:
      short: 50ms
    retries:
      three: {policy: constant, duration: 5ms, maxRetries: 3}
      once: {policy: constant, duration: 5ms, maxRetries: 1}
    circuitBreakers:
      cb: {trip: consecutiveFailures > 1, timeout: 60s}
  targets:
    components:
      flaky: {outbound: {retry: three}}
      slow: {outbound: {timeout: short}}
      broken: {outbound: {circuitBreaker: cb}}
      ps: {outbound: {retry: three}, inbound: {retry: three}}
      ps-short: {inbound: {retry: once}}
`;

async function setup(resiliency: Resiliency = resiliencyFrom(RESILIENCY)) {
  const components = new ComponentStore();
  const stores: Record<string, FlakyStore> = {};
  for (const name of ['flaky', 'slow', 'broken', 'plain']) {
    const meta = { name, type: 'state.in-memory', version: 'v1', properties: {}, appId: 'app1', namespace: '' };
    const instance = (stores[name] = new FlakyStore());
    await instance.init(meta);
    components.add({ kind: 'state', name, meta, instance, capabilities: [] });
  }
  const brokers: Record<string, FlakyBroker> = {};
  for (const [name, redeliver] of [['ps', '60s'], ['ps-short', '150ms']] as const) {
    const meta = { name, type: 'pubsub.in-memory', version: 'v1', properties: { redeliverInterval: redeliver }, appId: 'app1', namespace: '' };
    const instance = (brokers[name] = new FlakyBroker(name === 'ps' ? 1 : 0));
    await instance.init(meta);
    components.add({ kind: 'pubsub', name, meta, instance, capabilities: [] });
  }
  const core = createCore({ components, appId: 'app1', namespace: '', runtimeVersion: 't' }, { protocol: 'http', channelAddress: '127.0.0.1' }, { resiliency });
  return { core, stores, brokers, close: async () => Promise.all(Object.values(brokers).map((b) => b.close())) };
}

const failure = async (p: Promise<unknown>): Promise<RuntimeError> => {
  const e = await p.catch((x: unknown) => x);
  expect(e).toBeInstanceOf(RuntimeError);
  return e as RuntimeError;
};

const item = (key: string, value = '"v"', etag?: string) => ({ key, value: Buffer.from(value), etag });

describe('state store targets', () => {
  it('retry a store whose first calls fail, and only the store that has the policy', async () => {
    const { core, stores, close } = await setup();
    stores.flaky!.failures.set('*', [new Error('connection reset'), new Error('connection reset')]);
    await core.state.save('flaky', [item('k')]);
    expect(stores.flaky!.calls).toEqual(['set app1||k', 'set app1||k', 'set app1||k']);
    stores.flaky!.failures.set('*', [new Error('connection reset')]);
    expect((await core.state.get('flaky', 'k'))?.data.toString()).toBe('"v"');

    stores.plain!.failures.set('*', [new Error('connection reset')]);
    const e = await failure(core.state.save('plain', [item('k')]));
    expect(e.code).toBe('ERR_STATE_SAVE');
    expect(e.message).toMatch(/connection reset/);
    expect(stores.plain!.calls).toHaveLength(1);
    await close();
  });

  it('give up after maxRetries with the error daprd answers', async () => {
    const { core, stores, close } = await setup();
    stores.flaky!.failures.set('*', Array.from({ length: 10 }, () => new Error('connection refused')));
    const e = await failure(core.state.get('flaky', 'k'));
    expect(e.code).toBe('ERR_STATE_GET');
    expect(e.message).toBe('fail to get k from state store flaky: connection refused');
    expect(stores.flaky!.calls).toHaveLength(4);
    await close();
  });

  it('never retry an ETag conflict', async () => {
    const { core, stores, close } = await setup();
    stores.flaky!.failures.set('*', [new ETagError('mismatch')]);
    expect((await failure(core.state.save('flaky', [item('k', '"v"', '7')]))).kind).toBe('STATE_SAVE_ETAG_MISMATCH');
    expect(stores.flaky!.calls).toHaveLength(1);
    await close();
  });

  it('retry only the items of a bulk save that failed for a reason other than their ETag', async () => {
    const { core, stores, close } = await setup();
    stores.flaky!.failures.set('app1||b', [new Error('timeout')]);
    stores.flaky!.failures.set('app1||c', [new ETagError('mismatch')]);
    const e = await failure(core.state.save('flaky', [item('a'), item('b'), item('c', '"v"', '3')]));
    expect(e.kind).toBe('STATE_SAVE_ETAG_MISMATCH');
    expect(stores.flaky!.calls).toEqual(['set app1||a', 'set app1||b', 'set app1||c', 'set app1||b']);
    expect((await core.state.get('flaky', 'b'))?.data.toString()).toBe('"v"');
    await close();
  });

  it('time out a call that hangs', async () => {
    const { core, stores, close } = await setup();
    stores.slow!.failures.set('*', ['hang']);
    const e = await failure(core.state.get('slow', 'k'));
    expect(e.code).toBe('ERR_STATE_GET');
    expect(e.message).toBe('fail to get k from state store slow: context deadline exceeded (timeout 50ms)');
    await close();
  });

  it('fail fast once the breaker opens', async () => {
    const { core, stores, close } = await setup();
    stores.broken!.failures.set('*', [new Error('down'), new Error('down'), new Error('down')]);
    await failure(core.state.get('broken', 'k'));
    await failure(core.state.get('broken', 'k'));
    const e = await failure(core.state.get('broken', 'k'));
    expect(e.message).toBe('fail to get k from state store broken: circuit breaker is open');
    expect(stores.broken!.calls).toHaveLength(2);
    await close();
  });
});

describe('pub/sub targets', () => {
  const pub = (pubsubName: string, topic: string) => ({ pubsubName, topic, data: Buffer.from('{"n":1}'), contentType: 'application/json', metadata: {} });
  const spec = (pubsubName: string, topic: string) => ({ pubsubName, topic, metadata: {}, rules: [{ match: '', path: '' }], defaultRoute: '', deadLetterTopic: '' });

  it('retry a publish the broker refused', async () => {
    const { core, brokers, close } = await setup();
    await core.pubsub.publisher.publish(pub('ps', 't'));
    expect(brokers.ps!.publishes).toBe(2);
    await close();
  });

  it('retry a delivery the app asked to retry, before the message goes back to the broker', async () => {
    const { core, close } = await setup();
    const answers: AppEventStatus[] = ['RETRY', 'RETRY', 'SUCCESS'];
    const at: number[] = [];
    const stop = await core.pubsub.subscriber.subscribeStream(spec('ps', 'orders'), async () => (at.push(Date.now()), answers.shift()!));
    await core.pubsub.publisher.publish(pub('ps', 'orders'));
    // The broker would redeliver only after 60 s: three deliveries now are the policy's.
    await until(() => at.length === 3, () => `${at.length} deliveries`, 2000);
    await stop();
    await close();
  });

  it('give the message back to the broker once the inbound policy is spent (at least once)', async () => {
    const { core, close } = await setup();
    const answers: AppEventStatus[] = ['RETRY', 'RETRY', 'RETRY', 'SUCCESS'];
    const at: number[] = [];
    const stop = await core.pubsub.subscriber.subscribeStream(spec('ps-short', 'orders'), async () => (at.push(Date.now()), answers.shift()!));
    await core.pubsub.publisher.publish(pub('ps-short', 'orders'));
    await until(() => at.length === 4, () => `${at.length} deliveries`, 3000);
    // Two attempts under the policy, then the broker's redelivery 150 ms later, then two more.
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(140);
    await stop();
    await close();
  });

  it('resend only the entries of a bulk the app asked to retry', async () => {
    const { brokers, close } = await setup();
    const spec = { pubsubName: 'ps', topic: 'bulk', metadata: {}, rules: [{ match: '', path: 'orders' }], defaultRoute: '', deadLetterTopic: '', type: 'STREAMING' as const, bulkSubscribe: { enabled: true, maxMessagesCount: 3, maxAwaitDurationMs: 1000 } };
    const delivery = new SubscriptionDelivery(spec, brokers.ps!, new Router(spec.rules), pino({ level: 'silent' }), resiliencyFrom(RESILIENCY));
    const sent: string[][] = [];
    const tries = new Map<string, number>();
    const batcher = new BulkBatcher(
      delivery,
      async (ev: AppBulkEvent) => {
        sent.push(ev.entries.map((e) => String((e.event as { id: string }).id)));
        // Event b needs a second delivery; the others succeed at once.
        return new Map(ev.entries.map((e) => {
          const id = String((e.event as { id: string }).id);
          tries.set(id, (tries.get(id) ?? 0) + 1);
          return [e.entryId, id === 'b' && tries.get(id) === 1 ? 'RETRY' : 'SUCCESS'];
        }));
      },
      pino({ level: 'silent' }),
    );
    const handle = batcher.handler();
    const msg = (id: string) => ({ topic: 'bulk', data: Buffer.from(JSON.stringify({ id, specversion: '1.0', source: 's', type: 't', data: {} })), metadata: {} });
    await Promise.all(['a', 'b', 'c'].map((id) => handle(msg(id))));
    expect(sent).toEqual([['a', 'b', 'c'], ['b']]);
    batcher.close();
    await close();
  });
});
