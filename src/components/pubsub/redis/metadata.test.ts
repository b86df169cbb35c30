import { ComponentConfigError } from '../../types';
import { trimArgs } from './index';
import { parseStreamsMetadata, redeliveryEnabled } from './metadata';

const base = { redisHost: 'localhost:6379', consumerID: 'app' };

describe('pubsub.redis metadata', () => {
  it("takes contrib's defaults", () => {
    const c = parseStreamsMetadata(base);
    expect(c).toMatchObject({ consumerID: 'app', processingTimeout: 60000, redeliverInterval: 15000, queueDepth: 100, concurrency: 10, maxLenApprox: 0 });
    expect(c.streamTTL).toBeUndefined();
    expect(c.redis).toMatchObject({ host: 'localhost', port: 6379 });
  });

  it('reads a bare number as milliseconds for the redelivery durations, as contrib does', () => {
    const c = parseStreamsMetadata({ ...base, processingTimeout: '1500', redeliverInterval: '1m30s' });
    expect(c.processingTimeout).toBe(1500);
    expect(c.redeliverInterval).toBe(90000);
  });

  it('0 for either duration disables redelivery', () => {
    expect(redeliveryEnabled(parseStreamsMetadata({ ...base, redeliverInterval: '0' }))).toBe(false);
    expect(redeliveryEnabled(parseStreamsMetadata({ ...base, processingTimeout: '0s' }))).toBe(false);
    expect(redeliveryEnabled(parseStreamsMetadata(base))).toBe(true);
  });

  it('names the field it cannot read', () => {
    const bad: [Record<string, string>, string][] = [
      [{ ...base, queueDepth: 'lots' }, 'queueDepth'],
      [{ ...base, concurrency: '0' }, 'concurrency'],
      [{ ...base, processingTimeout: 'soon' }, 'processingTimeout'],
      [{ ...base, maxLenApprox: '-1' }, 'maxLenApprox'],
      [{ ...base, streamTTL: 'a day' }, 'streamTTL'],
      [{ redisHost: 'localhost' }, 'consumerID'],
      [{ consumerID: 'app' }, 'redisHost'],
    ];
    for (const [props, field] of bad) {
      expect(() => parseStreamsMetadata(props)).toThrow(ComponentConfigError);
      expect(() => parseStreamsMetadata(props)).toThrow(`"${field}"`);
    }
  });

  it('trims with MAXLEN ~ when maxLenApprox is set, else MINID ~ now-streamTTL, else not at all', () => {
    expect(trimArgs({ maxLenApprox: 0 })).toEqual([]);
    expect(trimArgs({ maxLenApprox: 1000 })).toEqual(['MAXLEN', '~', 1000]);
    expect(trimArgs({ maxLenApprox: 0, streamTTL: 60000 }, 1_700_000_000_000)).toEqual(['MINID', '~', 1_699_999_940_000]);
    // Redis takes one strategy; contrib's client picks MAXLEN.
    expect(trimArgs({ maxLenApprox: 5, streamTTL: 60000 })).toEqual(['MAXLEN', '~', 5]);
  });
});
