// pubsub.jetstream without a server: metadata names, defaults and mistakes, the durable names
// and consumer settings derived from them, and the credentials put on the connection.
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { ComponentConfigError } from '../../types';
import { connectionOptions } from './connect';
import { consumerConfig, durableName } from './consumer';
import { parseJetStreamMetadata } from './metadata';

const base = { natsURL: 'nats://localhost:4222', consumerID: 'app' };

describe('pubsub.jetstream metadata', () => {
  it('has contrib defaults', () => {
    const cfg = parseJetStreamMetadata(base);
    expect(cfg).toMatchObject({ name: 'dapr.io - pubsub.jetstream', deliverPolicy: 'all', ackPolicy: 'explicit', concurrency: 'single', memoryStorage: false, backOff: [] });
  });

  it('reads contrib names case-insensitively, durations and the backOff list', () => {
    const cfg = parseJetStreamMetadata({
      ...base,
      NATSURL: 'nats://a:4222,nats://b:4222',
      ackwait: '2s',
      maxDeliver: '10',
      backOff: '500ms, 2s, 10s',
      maxAckPending: '5000',
      deliverPolicy: 'sequence',
      startSequence: '5',
      concurrencyMode: 'parallel',
      concurrency: 'single',
    });
    expect(cfg).toMatchObject({ natsURL: 'nats://a:4222,nats://b:4222', ackWait: 2000, maxDeliver: 10, backOff: [500, 2000, 10000], maxAckPending: 5000, startSequence: 5, concurrency: 'parallel' });
  });

  it.each([
    [{}, 'natsURL'],
    [{ ...base, deliverPolicy: 'oldest' }, 'deliverPolicy'],
    [{ ...base, deliverPolicy: 'sequence' }, 'startSequence'],
    [{ ...base, startSequence: '3' }, 'startSequence'],
    [{ ...base, deliverPolicy: 'time' }, 'startTime'],
    [{ ...base, ackPolicy: 'none' }, 'ackPolicy'],
    [{ ...base, ackWait: 'soon' }, 'ackWait'],
    [{ ...base, backOff: '1s, later' }, 'backOff'],
    [{ ...base, jwt: 'eyJ' }, 'seedKey'],
    [{ ...base, seedKey: 'SUA' }, 'jwt'],
    [{ ...base, tls_client_cert: '/c.pem' }, 'tls_client_key'],
    [{ ...base, concurrency: 'some' }, 'concurrency'],
  ])('rejects %j naming %s', (props, field) => {
    let err: unknown;
    try {
      parseJetStreamMetadata(props as Record<string, string>);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ComponentConfigError);
    expect((err as ComponentConfigError).field).toBe(field);
    expect((err as Error).message).toContain(`"${field}"`);
  });
});

describe('pubsub.jetstream consumers', () => {
  it('names one durable per group and topic, within NATS rules and without collisions', () => {
    expect(durableName('app', 'orders')).toBe('app-orders');
    const dotted = durableName('app', 'orders.created');
    const underscored = durableName('app', 'orders_created');
    expect(dotted).toMatch(/^app-orders_created-[0-9a-f]{8}$/);
    expect(underscored).toBe('app-orders_created');
    expect(dotted).not.toBe(underscored);
    expect(durableName('ns.app', 'a b>*/\\')).toMatch(/^ns_app-a_b____-[0-9a-f]{8}$/);
  });

  it('maps the metadata onto the consumer config', () => {
    const cfg = parseJetStreamMetadata({ ...base, deliverPolicy: 'time', startTime: '1629328511', ackWait: '2s', maxDeliver: '5', backOff: '1s,2s', maxAckPending: '7', replicas: '3', memoryStorage: 'true' });
    expect(consumerConfig(cfg, 'app-t', 't')).toEqual({
      durable_name: 'app-t',
      filter_subject: 't',
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: '2021-08-18T23:15:11.000Z',
      ack_wait: 2e9,
      max_deliver: 5,
      backoff: [1e9, 2e9],
      max_ack_pending: 7,
      num_replicas: 3,
      mem_storage: true,
    });
    expect(consumerConfig(parseJetStreamMetadata(base), 'app-t', 't')).toEqual({ durable_name: 'app-t', filter_subject: 't', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });
  });
});

describe('pubsub.jetstream connection', () => {
  it('uses contrib credential order: jwt+seedKey, then TLS client cert, then token', () => {
    const all = { ...base, jwt: 'eyJ', seedKey: 'SUA', tls_client_cert: '/c.pem', tls_client_key: '/k.pem', token: 't' };
    const jwt = connectionOptions(parseJetStreamMetadata(all));
    expect(jwt.authenticator).toBeDefined();
    expect(jwt.token).toBeUndefined();
    const tls = connectionOptions(parseJetStreamMetadata({ ...all, jwt: '', seedKey: '' }));
    expect(tls.authenticator).toBeUndefined();
    expect(tls.tls).toEqual({ certFile: '/c.pem', keyFile: '/k.pem' });
    const token = connectionOptions(parseJetStreamMetadata({ ...base, token: 't', name: 'mine' }));
    expect(token).toMatchObject({ token: 't', name: 'mine', servers: ['nats://localhost:4222'], maxReconnectAttempts: -1 });
  });
});
