// Metadata, naming and message mapping of pubsub.rabbitmq, without a broker.
import type { ConsumeMessage } from 'amqplib';
import { ComponentConfigError } from '../../types';
import { publishOptions, toPubSubMessage } from './message';
import { parseRabbitMQMetadata } from './metadata';
import { deadLetterNames, queueSpec } from './topology';

const base = { connectionString: 'amqp://guest:guest@localhost:5672', consumerID: 'app' };

describe('parseRabbitMQMetadata', () => {
  it('has contrib code defaults', () => {
    const c = parseRabbitMQMetadata(base);
    expect(c).toMatchObject({
      durable: true,
      deletedWhenUnused: true,
      autoAck: false,
      requeueInFailure: false,
      enableDeadLetter: false,
      deliveryMode: 0,
      prefetchCount: 0,
      exchangeKind: 'fanout',
      reconnectWaitMs: 3000,
      concurrency: 'parallel',
      publishMessagePropertiesToMetadata: false,
    });
    expect(c.url).toBe('amqp://guest:guest@localhost:5672?heartbeat=10');
    expect(c.address).toBe('amqp://localhost:5672');
  });

  it('reads names case-insensitively, reconnectWaitSeconds in seconds, concurrencyMode', () => {
    const c = parseRabbitMQMetadata({ ...base, ReconnectWaitSeconds: '2', reconnectWait: '9s', concurrencyMode: 'single', heartBeat: '30s' });
    expect(c.reconnectWaitMs).toBe(2000);
    expect(c.concurrency).toBe('single');
    expect(c.url).toContain('heartbeat=30');
  });

  it('accepts the legacy host field and builds a URL from hostname/username/password', () => {
    expect(parseRabbitMQMetadata({ host: 'amqp://h:5673' }).address).toBe('amqp://h:5673');
    const c = parseRabbitMQMetadata({ hostname: 'rabbit:5673', username: 'u@x', password: 'p/w', protocol: 'amqp' });
    expect(new URL(c.url).host).toBe('rabbit:5673');
    expect(decodeURIComponent(new URL(c.url).username)).toBe('u@x');
    expect(decodeURIComponent(new URL(c.url).password)).toBe('p/w');
    expect(c.address).not.toContain('p%2Fw');
  });

  it.each([
    [{ ...base, exchangeKind: 'nope' }, 'exchangeKind'],
    [{ ...base, deliveryMode: '3' }, 'deliveryMode'],
    [{ ...base, durable: 'maybe' }, 'durable'],
    [{ ...base, ttlInSeconds: 'x' }, 'ttlInSeconds'],
    [{ connectionString: 'http://localhost' }, 'connectionString'],
    [{ connectionString: 'amqp://localhost', protocol: 'amqps' }, 'protocol'],
    [{ ...base, saslExternal: 'true' }, 'saslExternal'],
  ])('rejects %j naming the field', (props, field) => {
    let err: unknown;
    try {
      parseRabbitMQMetadata(props as Record<string, string>);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ComponentConfigError);
    expect((err as ComponentConfigError).message).toContain(`"${field}"`);
  });
});

describe('queueSpec', () => {
  const cfg = parseRabbitMQMetadata({ ...base, maxLen: '100' });

  it('names the queue {consumerID}-{topic} unless queueName is given', () => {
    expect(queueSpec(cfg, 'orders', {}).queue).toBe('app-orders');
    expect(queueSpec(cfg, 'orders', { queueName: 'mine' }).queue).toBe('mine');
    expect(deadLetterNames('app-orders')).toEqual({ exchange: 'dlx-app-orders', queue: 'dlq-app-orders' });
  });

  it('turns subscription metadata into queue arguments', () => {
    const s = queueSpec(cfg, 't', { queueType: 'quorum', maxPriority: '300', singleActiveConsumer: 'true', maxLenBytes: '2048', routingKey: 'a,b' });
    expect(s.args).toEqual({ 'x-queue-type': 'quorum', 'x-max-length': 100, 'x-max-priority': 255, 'x-single-active-consumer': true, 'x-max-length-bytes': 2048 });
    expect(s.routingKeys).toEqual(['a', 'b']);
    expect(queueSpec(cfg, 't', {}).routingKeys).toEqual(['']);
  });

  it('rejects bad subscription metadata and a missing consumerID', () => {
    expect(() => queueSpec(cfg, 't', { queueType: 'stream' })).toThrow(/invalid queue type/);
    expect(() => queueSpec(cfg, 't', { maxLen: '-1' })).toThrow(/maxLen/);
    expect(() => queueSpec(parseRabbitMQMetadata({ connectionString: base.connectionString }), 't', {})).toThrow(/consumerID/);
  });
});

describe('message mapping', () => {
  const cfg = { deliveryMode: 2, ttlInSeconds: 60 };

  it('sets expiration from the request ttlInSeconds, else the component default', () => {
    const req = { topic: 't', data: Buffer.from('x'), metadata: { ttlInSeconds: '5' } };
    expect(publishOptions(req, cfg)).toMatchObject({ expiration: '5000', deliveryMode: 2, contentType: 'text/plain' });
    expect(publishOptions({ ...req, metadata: {} }, cfg).expiration).toBe('60000');
    expect(publishOptions({ ...req, metadata: { ttlInSeconds: 'soon' } }, { deliveryMode: 0 }).expiration).toBeUndefined();
  });

  it('carries AMQP properties from request metadata', () => {
    const o = publishOptions({ topic: 't', data: Buffer.alloc(0), contentType: 'application/cloudevents+json', metadata: { messageID: 'm1', correlationId: 'c1', type: 'ty', priority: '3' } }, { deliveryMode: 0 });
    expect(o).toMatchObject({ contentType: 'application/cloudevents+json', messageId: 'm1', correlationId: 'c1', type: 'ty', priority: 3 });
    expect(o.deliveryMode).toBeUndefined();
  });

  it('exposes properties as metadata.* only when asked', () => {
    const msg = { content: Buffer.from('b'), properties: { contentType: 'text/plain', messageId: 'm', headers: { h: Buffer.from('v'), n: 1 } }, fields: {} } as unknown as ConsumeMessage;
    expect(toPubSubMessage('t', msg, false)).toEqual({ topic: 't', data: Buffer.from('b'), contentType: 'text/plain', metadata: {} });
    expect(toPubSubMessage('t', msg, true).metadata).toEqual({ 'metadata.messageid': 'm', 'metadata.contenttype': 'text/plain', 'metadata.h': 'v', 'metadata.n': '1' });
  });
});
