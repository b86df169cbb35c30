import { ComponentConfigError } from '../../types';
import { retryDelay } from './backoff';
import { describeBroker, parseMqtt3Metadata } from './metadata';

const parse = (p: Record<string, string>) => parseMqtt3Metadata({ consumerID: 'app', ...p });

describe('mqtt3 metadata', () => {
  it("takes contrib's defaults", () => {
    const c = parse({ url: 'tcp://localhost:1883' });
    expect(c).toMatchObject({ clientId: 'app', qos: 1, retain: false, cleanSession: false });
    expect(c.broker).toEqual({ protocol: 'mqtt', host: 'localhost', port: 1883, path: undefined, username: undefined, password: undefined });
    expect(c.backOff).toEqual({ policy: 'constant', durationMs: 5000, initialMs: 500, maxMs: 60000, maxRetries: -1 });
  });

  it('reads credentials, schemes and names case-insensitively', () => {
    const c = parse({ URL: 'ssl://us%40er:p%3Ass@[::1]', QoS: '2', CleanSession: 'true', retain: 'true' });
    expect(c.broker).toMatchObject({ protocol: 'mqtts', host: '::1', port: 8883, username: 'us@er', password: 'p:ss' });
    expect(describeBroker(c.broker)).toBe('mqtts://us@er@[::1]:8883');
    expect(c).toMatchObject({ qos: 2, cleanSession: true, retain: true });
    expect(parse({ url: 'mqtt://h' }).broker.port).toBe(1883);
    expect(parse({ url: 'wss://h/mqtt' }).broker).toMatchObject({ protocol: 'wss', port: 443, path: '/mqtt' });
  });

  it.each([
    [{ url: '' }, 'url'],
    [{ url: 'tcp://h:1883', consumerID: '' }, 'consumerID'],
    [{ url: 'http://h:1883' }, 'url'],
    [{ url: 'not a url' }, 'url'],
    [{ url: 'tcp://h', qos: '3' }, 'qos'],
    [{ url: 'tcp://h', retain: 'maybe' }, 'retain'],
    [{ url: 'tcp://h', backOffMaxRetries: '-2' }, 'backOffMaxRetries'],
    [{ url: 'tcp://h', backOffDuration: 'soon' }, 'backOffDuration'],
  ])('rejects %j naming %s', (props, field) => {
    const run = () => parse(props as Record<string, string>);
    expect(run).toThrow(ComponentConfigError);
    expect(run).toThrow(field);
  });

  it('backs off constantly or exponentially, up to backOffMaxRetries', () => {
    const b = { policy: 'constant' as const, durationMs: 100, initialMs: 10, maxMs: 30, maxRetries: 2 };
    expect([1, 2, 3].map((n) => retryDelay(b, n))).toEqual([100, 100, undefined]);
    const e = { ...b, policy: 'exponential' as const, maxRetries: -1 };
    expect([1, 2, 3, 4, 50].map((n) => retryDelay(e, n))).toEqual([10, 15, 22.5, 30, 30]);
  });
});
