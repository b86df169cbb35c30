import { parseMqtt3BindingMetadata } from './metadata';

test("contrib's defaults: QoS 1, persistent session, 3 redeliveries", () => {
  const cfg = parseMqtt3BindingMetadata({ url: 'tcp://u:p@localhost:1883', topic: 't', consumerID: 'c', qos: '0' });
  expect(cfg.topic).toBe('t');
  expect(cfg.connection).toMatchObject({ clientId: 'c', qos: 1, retain: false, cleanSession: false, broker: { protocol: 'mqtt', host: 'localhost', port: 1883, username: 'u', password: 'p' } });
  expect(cfg.connection.backOff.maxRetries).toBe(3);
});

test.each([
  [{ topic: 't', consumerID: 'c' }, 'url'],
  [{ url: 'tcp://localhost', consumerID: 'c' }, 'topic'],
  [{ url: 'tcp://localhost', topic: 't' }, 'consumerID'],
  [{ url: 'ftp://localhost', topic: 't', consumerID: 'c' }, 'url'],
])('%j is refused naming %s', (props, field) => {
  expect(() => parseMqtt3BindingMetadata(props)).toThrow(expect.objectContaining({ field }));
});
