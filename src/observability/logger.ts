// pino configured to daprd's log schema. JSON mode (--log-as-json) writes Dapr's fields
// {time, level, type, scope, msg, instance, ver, app_id} (dapr/kit's logger; app_id only when
// set); text mode writes logrus-style key=value. Scoped loggers are kept per family so a scope's
// level can change at run time (the actuator's POST /actuator/logger), like daprd's named loggers.
import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';
/** Levels a scope can be switched to at run time (Layotto's logger also knows trace). */
export const RUNTIME_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type RuntimeLevel = (typeof RUNTIME_LEVELS)[number];

/** The scope of the logger createLogger returns; naming it (or "") addresses every scope. */
export const ROOT_SCOPE = 'dapr.runtime';

export interface LoggerOptions {
  level: LogLevel;
  json: boolean;
  appId: string;
  version: string;
  destination?: NodeJS.WritableStream;
}

/** What the loggers of one createLogger() share; found from any of them through the prototype chain. */
interface Family {
  /** Scope-less parent of every scoped logger: a child of a scoped logger would write `scope` twice. */
  base: Logger;
  level: string;
  /** Per-scope levels set at run time; they also apply to loggers of that scope created later. */
  overrides: Map<string, string>;
  loggers: Set<{ scope: string; ref: WeakRef<Logger> }>;
}
const FAMILY = Symbol('layotto-ts.logFamily');
const familyOf = (log: Logger): Family | undefined => (log as unknown as { [FAMILY]?: Family })[FAMILY];

export function createLogger(opts: LoggerOptions): Logger {
  const out = opts.destination ?? process.stdout;
  const base = pino(
    {
      level: opts.level,
      messageKey: 'msg',
      base: { type: 'log', instance: hostname(), ver: opts.version, ...(opts.appId ? { app_id: opts.appId } : {}) },
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.json ? out : logfmtStream(out),
  );
  // pino children are Object.create(parent): every logger of the family sees this property.
  (base as unknown as { [FAMILY]: Family })[FAMILY] = { base, level: opts.level, overrides: new Map(), loggers: new Set() };
  return scoped(base, ROOT_SCOPE);
}

/** A child logger for a Dapr scope, e.g. "dapr.runtime.http"; its level follows setLogLevel. */
export function scoped(log: Logger, scope: string): Logger {
  const fam = familyOf(log);
  if (!fam) return log.child({ scope });
  const child = fam.base.child({ scope }, { level: levelFor(fam, scope) });
  for (const e of fam.loggers) if (!e.ref.deref()) fam.loggers.delete(e);
  fam.loggers.add({ scope, ref: new WeakRef(child) });
  return child;
}

/**
 * Sets the level of `scope` and the scopes under it ("dapr.runtime.http" also sets
 * "dapr.runtime.http.x"); "" or ROOT_SCOPE sets every logger of the family. Returns how many
 * live loggers changed. Levels are checked by the caller (RUNTIME_LEVELS).
 */
export function setLogLevel(log: Logger, scope: string, level: RuntimeLevel): number {
  const fam = familyOf(log);
  if (!fam) {
    log.level = level;
    return 1;
  }
  const all = scope === '' || scope === ROOT_SCOPE;
  if (all) {
    fam.level = level;
    fam.overrides.clear();
  } else {
    fam.overrides.set(scope, level);
  }
  let changed = 0;
  for (const e of fam.loggers) {
    const l = e.ref.deref();
    if (!l) fam.loggers.delete(e);
    else if (all || under(e.scope, scope)) {
      l.level = level;
      changed++;
    }
  }
  return changed;
}

const under = (scope: string, parent: string): boolean => scope === parent || scope.startsWith(parent + '.');

/** The most specific run-time override covering the scope, else the family's level. */
function levelFor(fam: Family, scope: string): string {
  let best: string | undefined;
  for (const k of fam.overrides.keys()) if (under(scope, k) && (!best || k.length > best.length)) best = k;
  return best ? fam.overrides.get(best)! : fam.level;
}

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
