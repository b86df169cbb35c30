import { publishOptions } from '.';
import { parseRabbitMQBindingMetadata } from './metadata';
import { goQueryEscape, headersToMetadata } from './message';

describe('metadata', () => {
  test("contrib's defaults, and ttlInSeconds/maxPriority as queue arguments", () => {
    const cfg = parseRabbitMQBindingMetadata({ host: 'amqp://guest:guest@localhost:5672', queueName: 'q', ttlInSeconds: '60', maxPriority: '300' });
    expect(cfg).toMatchObject({ queueName: 'q', durable: false, deleteWhenUnused: false, exclusive: false, prefetchCount: 0, reconnectWaitMs: 5000, contentType: 'text/plain' });
    expect(cfg.queueArgs).toEqual({ 'x-message-ttl': 60000, 'x-max-priority': 255 });
    expect(cfg.address).toBe('amqp://localhost:5672');
    expect(new URL(cfg.url).searchParams.get('heartbeat')).toBe('10');
  });

  test.each([
    [{ queueName: 'q' }, 'host'],
    [{ host: 'amqp://localhost' }, 'queueName'],
    [{ host: 'http://localhost', queueName: 'q' }, 'host'],
    [{ host: 'amqp://localhost', queueName: 'q', prefetchCount: 'x' }, 'prefetchCount'],
  ])('%j is refused naming %s', (props, field) => {
    expect(() => parseRabbitMQBindingMetadata(props)).toThrow(expect.objectContaining({ field }));
  });
});

describe('publishing', () => {
  test('persistent, text/plain unless told, metadata as headers, ttl and priority', () => {
    expect(publishOptions({ a: 'b' }, 'text/plain')).toEqual({ deliveryMode: 2, contentType: 'text/plain', headers: { a: 'b' } });
    const o = publishOptions({ contentType: 'application/json', ttlInSeconds: '5', priority: '300' }, 'text/plain');
    expect(o).toMatchObject({ contentType: 'application/json', expiration: '5000', priority: 255 });
    expect(() => publishOptions({ ttlInSeconds: 'soon' }, 'text/plain')).toThrow('ttlInSeconds');
    expect(() => publishOptions({ priority: '-1' }, 'text/plain')).toThrow('priority');
  });

  test('string headers come back query-escaped, as contrib passes them on', () => {
    expect(headersToMetadata({ 'my key': "a b!'()*", n: 1 })).toEqual({ 'my+key': 'a+b%21%27%28%29%2A' });
    expect(goQueryEscape('ä/~')).toBe('%C3%A4%2F~');
  });
});
