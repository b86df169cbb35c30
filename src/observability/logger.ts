// pino configured to daprd's log schema. JSON mode (--log-as-json) writes Dapr's fields
// {time, level, type, scope, msg, instance, ver, app_id}; text mode writes logrus-style key=value.
import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export interface LoggerOptions {
  level: LogLevel;
  json: boolean;
  appId: string;
  version: string;
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  const out = opts.destination ?? process.stdout;
  return pino(
    {
      level: opts.level,
      messageKey: 'msg',
      base: { type: 'log', scope: 'dapr.runtime', instance: hostname(), ver: opts.version, app_id: opts.appId },
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.json ? out : logfmtStream(out),
  );
}

/** A child logger for a Dapr scope, e.g. "dapr.runtime.http". */
export const scoped = (log: Logger, scope: string): Logger => log.child({ scope });

const FIRST = ['time', 'level', 'msg'];

/** Turns pino's JSON lines into logrus-style text: time="..." level=info msg="..." key=value. */
function logfmtStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        let rec: Record<string, unknown>;
        try {
          rec = JSON.parse(line);
        } catch {
          out.write(line + '\n');
          continue;
        }
        const keys = [...FIRST.filter((k) => k in rec), ...Object.keys(rec).filter((k) => !FIRST.includes(k)).sort()];
        out.write(keys.map((k) => `${k}=${fmt(rec[k])}`).join(' ') + '\n');
      }
      cb();
    },
  });
}

function fmt(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return /^[\w.:\-/+]+$/.test(s) ? s : JSON.stringify(s);
}
