import type { BindingReadEvent } from '../types';
import { CronBinding, goUtcString } from '.';
import { parseSchedule } from './schedule';

const md = (properties: Record<string, string>) => ({ name: 'tick', type: 'bindings.cron', version: 'v1', properties, appId: 'a', namespace: '' });

describe('schedules', () => {
  test.each(['*/5 * * * *', '*/2 * * * * *', '0 30 * * * *', '@hourly', '@daily', '@midnight', '0 0 ? * MON', '@every 15s', '@every 1m30s', 'CRON_TZ=Europe/Berlin 0 6 * * *', 'TZ=UTC @every 1s'])('%s is accepted', (spec) => {
    expect(() => parseSchedule(spec)).not.toThrow();
  });

  test('the time zone prefix is what the events report', () => {
    expect(parseSchedule('CRON_TZ=Europe/Berlin 0 6 * * *').timeZone).toBe('Europe/Berlin');
    expect(parseSchedule('@every 1s').timeZone).toBe('Local');
  });

  test.each([
    ['bad', /invalid schedule format 'bad'/],
    ['* * * * * * *', /invalid schedule format/],
    ['@every soon', /failed to parse duration @every soon/],
    ['61 * * * *', /invalid schedule format/],
  ])('%s fails init naming the schedule field', async (spec, message) => {
    const e = await new CronBinding().init(md({ schedule: spec })).catch((x: unknown) => x);
    expect((e as Error).message).toMatch(message);
    expect((e as Error).message).toContain('metadata field "schedule"');
    expect((e as { field?: string }).field).toBe('schedule');
  });

  test('a missing schedule fails init', async () => {
    await expect(new CronBinding().init(md({}))).rejects.toThrow('schedule not set');
  });
});

describe('reading', () => {
  afterEach(() => jest.useRealTimers());

  test('@every fires on the interval with no data and contrib metadata, until the reader closes', async () => {
    jest.useFakeTimers();
    const b = new CronBinding();
    await b.init(md({ schedule: '@every 2s' }));
    const got: BindingReadEvent[] = [];
    const reader = await b.read(async (ev) => {
      got.push(ev);
      throw new Error('app refused: ignored, the next tick comes anyway');
    });
    jest.advanceTimersByTime(6000);
    expect(got).toHaveLength(3);
    expect(got[0]!.data).toHaveLength(0);
    expect(got[0]!.metadata.timeZone).toBe('Local');
    expect(got[0]!.metadata.readTimeUTC).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC$/);
    await reader.close();
    jest.advanceTimersByTime(6000);
    expect(got).toHaveLength(3);
    await b.close();
  });

  test('Go prints UTC times without trailing zeros in the fraction', () => {
    expect(goUtcString(new Date('2024-01-02T03:04:05.120Z'))).toBe('2024-01-02 03:04:05.12 +0000 UTC');
    expect(goUtcString(new Date('2024-01-02T03:04:05.000Z'))).toBe('2024-01-02 03:04:05 +0000 UTC');
  });
});
