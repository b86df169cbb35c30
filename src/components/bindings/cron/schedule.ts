// bindings.cron schedules, as dapr/kit's cron parser (robfig/cron) reads them: 5 fields, or 6 with
// seconds first; descriptors (@hourly, @daily, ...); `@every <duration>`; an optional CRON_TZ= or
// TZ= prefix naming the time zone. croner evaluates the field forms; `@every` is a fixed interval
// here, whole seconds as robfig rounds it (at least one second).
import { Cron } from 'croner';
import { parseDuration } from '../../metadata';

export interface Schedule {
  /** Starts firing `tick`; the returned function stops it. */
  start(tick: () => void): () => void;
  /** The zone the schedule runs in (contrib sends it as the event's timeZone). */
  timeZone: string;
}

const TZ_PREFIX = /^(?:CRON_TZ|TZ)=(\S+)\s+/;

export function parseSchedule(spec: string): Schedule {
  let rest = spec.trim();
  let timezone: string | undefined;
  const tz = TZ_PREFIX.exec(rest);
  if (tz) {
    timezone = tz[1];
    rest = rest.slice(tz[0].length);
  }
  if (rest.startsWith('@every')) {
    const value = rest.slice('@every'.length).trim();
    let ms: number;
    try {
      ms = parseDuration(value);
    } catch {
      throw new Error(`failed to parse duration @every ${value}`);
    }
    const every = Math.max(1000, Math.floor(ms / 1000) * 1000);
    return {
      timeZone: timezone ?? 'Local',
      start(tick) {
        const timer = setInterval(tick, every);
        return () => clearInterval(timer);
      },
    };
  }
  if (rest === '') throw new Error('empty spec string');
  // Parsed once now so a bad spec fails init, not the first read (a paused job still holds a timer).
  new Cron(rest, cronOptions(timezone, true)).stop();
  return {
    timeZone: timezone ?? 'Local',
    start(tick) {
      const job = new Cron(rest, cronOptions(timezone, false), tick);
      return () => job.stop();
    },
  };
}

function cronOptions(timezone: string | undefined, paused: boolean) {
  // robfig ORs day-of-month and day-of-week when both are restricted (croner's legacy default).
  return { mode: '5-or-6-parts' as const, paused, timezone, domAndDow: false, catch: true };
}
