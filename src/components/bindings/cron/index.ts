// bindings.cron (contrib's bindings/cron): an input binding that calls the app on a schedule. The
// event has no data; its metadata says when it was read (readTimeUTC, as Go prints a UTC time) and
// in which zone the schedule runs. A failed delivery is not retried: the next tick comes anyway.
import { z } from 'zod';
import { parseMetadata } from '../../metadata';
import { ComponentConfigError, type Component, type ComponentMetadata } from '../../types';
import type { BindingReader, BindingReadHandler, InputBinding } from '../types';
import { parseSchedule, type Schedule } from './schedule';

const schema = z.object({ schedule: z.string({ error: 'schedule not set' }) });

export class CronBinding implements Component, InputBinding {
  private schedule?: Schedule;
  private readonly stops = new Set<() => void>();
  private closed = false;

  async init(md: ComponentMetadata): Promise<void> {
    const { schedule } = parseMetadata(schema, md.properties);
    try {
      this.schedule = parseSchedule(schedule);
    } catch (e) {
      throw new ComponentConfigError(`metadata field "schedule": invalid schedule format '${schedule}': ${(e as Error).message}`, 'schedule');
    }
  }

  features(): readonly string[] {
    return [];
  }

  async read(handler: BindingReadHandler): Promise<BindingReader> {
    const schedule = this.schedule;
    if (!schedule || this.closed) throw new Error('cron binding: not initialized or closed');
    const fire = () => {
      const metadata = { timeZone: schedule.timeZone, readTimeUTC: goUtcString(new Date()) };
      handler({ data: Buffer.alloc(0), metadata }).catch(() => undefined);
    };
    const stop = schedule.start(fire);
    this.stops.add(stop);
    return {
      close: async () => {
        stop();
        this.stops.delete(stop);
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const stop of this.stops) stop();
    this.stops.clear();
  }
}

/** Go's time.Time.String() of a UTC time: "2006-01-02 15:04:05.999999999 +0000 UTC". */
export function goUtcString(d: Date): string {
  const iso = d.toISOString(); // 2006-01-02T15:04:05.123Z
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''} +0000 UTC`;
}
