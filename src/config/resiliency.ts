// Resiliency resources → the policies the core runs. Resources scoped to other apps are left out;
// the rest merge in load order (a later policy or target of the same name wins), over daprd's
// built-in DaprBuiltInServiceRetries. Every bad value stops startup with file:line, as a bad
// component does (daprd logs and drops the whole resource instead, silently losing its policies).
import { Environment } from '@marcbachmann/cel-js';
import type { Logger } from 'pino';
import { parseDuration } from '../components/metadata';
import { ResiliencyProvider } from '../core/resiliency/provider';
import {
  BUILT_IN_SERVICE_RETRIES,
  type BreakerSpec,
  type CodeRange,
  type Counts,
  DEFAULT_ENDPOINT_CACHE_SIZE,
  emptySpec,
  type PolicyNames,
  type ResiliencySpec,
  type RetrySpec,
} from '../core/resiliency/spec';
import { type LoadedResiliency, ManifestError } from '../runtime/loader';

/** dapr/kit's retry defaults and gobreaker's, as daprd applies them to omitted fields. */
const RETRY_DEFAULTS = { durationMs: 5000, maxIntervalMs: 60_000, maxRetries: -1 };
const BREAKER_DEFAULTS = { maxRequests: 1, intervalMs: 0, timeoutMs: 60_000, trip: 'consecutiveFailures > 5' };
const BUILT_IN_MIN_RETRIES = 3;
const COUNTERS = ['requests', 'totalSuccesses', 'totalFailures', 'consecutiveSuccesses', 'consecutiveFailures'] as const;

const tripEnv = COUNTERS.reduce((env, name) => env.registerVariable(name, 'int'), new Environment({ unlistedVariablesAreDyn: false }));

export function buildResiliency(loaded: readonly LoadedResiliency[], appId: string, log?: Logger): ResiliencyProvider {
  const spec = compileResiliency(loaded, appId, log);
  for (const r of loaded) if (applies(r, appId)) log?.info(`loaded Resiliency configuration ${r.manifest.metadata.name}`);
  return new ResiliencyProvider(spec, log);
}

export function compileResiliency(loaded: readonly LoadedResiliency[], appId: string, log?: Logger): ResiliencySpec {
  const spec = emptySpec();
  spec.retries.set(BUILT_IN_SERVICE_RETRIES, { name: BUILT_IN_SERVICE_RETRIES, policy: 'constant', durationMs: 1000, maxIntervalMs: RETRY_DEFAULTS.maxIntervalMs, maxRetries: BUILT_IN_MIN_RETRIES, matching: {} });
  const references: { kind: 'timeout' | 'retry' | 'circuitBreaker'; name: string; at: () => ManifestError }[] = [];

  for (const r of loaded.filter((x) => applies(x, appId))) {
    const fail = (path: (string | number)[], reason: string) => new ManifestError(r.file, r.lineOf(path), path.join('.'), reason);
    const { policies, targets } = r.manifest.spec;

    for (const [name, value] of Object.entries(policies.timeouts)) {
      spec.timeouts.set(name, durationMs(value, ['spec', 'policies', 'timeouts', name], fail));
    }

    for (const [name, v] of Object.entries(policies.retries)) {
      const at = ['spec', 'policies', 'retries', name];
      const policy = (v.policy ?? 'constant').toLowerCase();
      if (policy !== 'constant' && policy !== 'exponential') throw fail([...at, 'policy'], `unexpected back off policy type "${v.policy}": expected constant or exponential`);
      let maxRetries = v.maxRetries === undefined ? RETRY_DEFAULTS.maxRetries : integer(v.maxRetries, [...at, 'maxRetries'], fail);
      if (maxRetries < -1) throw fail([...at, 'maxRetries'], 'must be -1 (retry for ever) or a number of retries');
      if (name === BUILT_IN_SERVICE_RETRIES && maxRetries >= 0 && maxRetries < BUILT_IN_MIN_RETRIES) {
        log?.warn(`attempted override of ${name} did not meet the minimum retry count; resetting it to ${BUILT_IN_MIN_RETRIES}`);
        maxRetries = BUILT_IN_MIN_RETRIES;
      }
      const retry: RetrySpec = {
        name,
        policy,
        durationMs: v.duration === undefined ? RETRY_DEFAULTS.durationMs : durationMs(v.duration, [...at, 'duration'], fail),
        maxIntervalMs: v.maxInterval === undefined ? RETRY_DEFAULTS.maxIntervalMs : durationMs(v.maxInterval, [...at, 'maxInterval'], fail),
        maxRetries,
        matching: {
          http: codeRanges(v.matching?.httpStatusCodes, [100, 599], [...at, 'matching', 'httpStatusCodes'], fail),
          grpc: codeRanges(v.matching?.gRPCStatusCodes, [0, 16], [...at, 'matching', 'gRPCStatusCodes'], fail),
        },
      };
      spec.retries.set(name, retry);
    }

    for (const [name, v] of Object.entries(policies.circuitBreakers)) {
      const at = ['spec', 'policies', 'circuitBreakers', name];
      const maxRequests = v.maxRequests === undefined ? BREAKER_DEFAULTS.maxRequests : integer(v.maxRequests, [...at, 'maxRequests'], fail);
      if (maxRequests < 0) throw fail([...at, 'maxRequests'], 'must not be negative');
      const timeoutMs = v.timeout === undefined ? 0 : durationMs(v.timeout, [...at, 'timeout'], fail);
      const trip = v.trip?.trim() || BREAKER_DEFAULTS.trip;
      const breaker: BreakerSpec = {
        name,
        maxRequests: maxRequests || 1,
        intervalMs: v.interval === undefined ? BREAKER_DEFAULTS.intervalMs : durationMs(v.interval, [...at, 'interval'], fail),
        // gobreaker turns a zero open period into its 60 s default.
        timeoutMs: timeoutMs || BREAKER_DEFAULTS.timeoutMs,
        trip,
        consecutiveFailuresAbove: simpleTrip(trip),
        evaluate: compileTrip(trip, [...at, 'trip'], fail),
      };
      spec.circuitBreakers.set(name, breaker);
    }

    const refer = (names: PolicyNames, at: (string | number)[]) => {
      for (const kind of ['timeout', 'retry', 'circuitBreaker'] as const) {
        const name = names[kind];
        if (name) references.push({ kind, name, at: () => fail([...at, kind], `${describe(kind)} "${name}" is not defined in spec.policies.${plural(kind)}`) });
      }
    };
    for (const [app, t] of Object.entries(targets.apps)) {
      const at = ['spec', 'targets', 'apps', app];
      const size = t.circuitBreakerCacheSize === undefined ? 0 : integer(t.circuitBreakerCacheSize, [...at, 'circuitBreakerCacheSize'], fail);
      if (size < 0) throw fail([...at, 'circuitBreakerCacheSize'], 'must not be negative');
      const names = { timeout: t.timeout || undefined, retry: t.retry || undefined, circuitBreaker: t.circuitBreaker || undefined };
      refer(names, at);
      spec.apps.set(app, { ...names, circuitBreakerCacheSize: size || DEFAULT_ENDPOINT_CACHE_SIZE });
    }
    for (const [component, t] of Object.entries(targets.components)) {
      const at = ['spec', 'targets', 'components', component];
      const clean = (n: PolicyNames): PolicyNames => ({ timeout: n.timeout || undefined, retry: n.retry || undefined, circuitBreaker: n.circuitBreaker || undefined });
      const inbound = clean(t.inbound);
      const outbound = clean(t.outbound);
      refer(inbound, [...at, 'inbound']);
      refer(outbound, [...at, 'outbound']);
      spec.components.set(component, { inbound, outbound });
    }
  }

  // Names resolve across every resource, so they are checked once all are merged.
  for (const ref of references) {
    const known = ref.kind === 'timeout' ? spec.timeouts : ref.kind === 'retry' ? spec.retries : spec.circuitBreakers;
    if (!known.has(ref.name)) throw ref.at();
  }
  return spec;
}

const applies = (r: LoadedResiliency, appId: string) => r.manifest.scopes.length === 0 || r.manifest.scopes.includes(appId);

type Fail = (path: (string | number)[], reason: string) => ManifestError;

/** daprd's parseDuration: a whole number is milliseconds, anything else a Go duration. */
function durationMs(v: string | number, path: (string | number)[], fail: Fail): number {
  const s = String(v).trim();
  if (/^\d+$/.test(s)) return Number(s);
  let ms: number;
  try {
    ms = parseDuration(s);
  } catch {
    throw fail(path, `invalid duration "${s}": expected e.g. 500ms, 5s, 1m30s or a number of milliseconds`);
  }
  return ms;
}

function integer(v: string | number, path: (string | number)[], fail: Fail): number {
  const n = typeof v === 'number' ? v : /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw fail(path, `must be a whole number, got ${JSON.stringify(v)}`);
  return n;
}

/** "429,500-599" → ranges; empty → undefined (every code is retried). */
function codeRanges(v: string | undefined, [min, max]: CodeRange, path: (string | number)[], fail: Fail): CodeRange[] | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  return v
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((p) => {
      const m = /^(\d+)(?:-(\d+))?$/.exec(p);
      const lo = m ? Number(m[1]) : NaN;
      const hi = m ? Number(m[2] ?? m[1]) : NaN;
      if (!m || lo < min || hi > max || hi < lo) throw fail(path, `invalid status code pattern "${p}": expected a code or a range like ${min}-${max}, within ${min}-${max}`);
      return [lo, hi] as const;
    });
}

/** The N of `consecutiveFailures > N`, which cockatiel's ConsecutiveBreaker implements directly. */
function simpleTrip(trip: string): number | undefined {
  const m = /^consecutiveFailures\s*>\s*(\d+)$/.exec(trip);
  return m ? Number(m[1]) : undefined;
}

/** A CEL expression over gobreaker's counters that must yield a bool. */
function compileTrip(trip: string, path: (string | number)[], fail: Fail): (c: Counts) => boolean {
  const checked = tripEnv.check(trip);
  const why = !checked.valid ? checked.error?.message.split('\n')[0] : checked.type !== 'bool' ? `it yields ${checked.type}, not bool` : undefined;
  if (why !== undefined) throw fail(path, `invalid trip expression "${trip}": ${why} (it may use ${COUNTERS.join(', ')}; e.g. consecutiveFailures > 5)`);
  const fn = tripEnv.parse(trip);
  return (c) => fn(Object.fromEntries(COUNTERS.map((k) => [k, BigInt(c[k])]))) === true;
}

const describe = (kind: 'timeout' | 'retry' | 'circuitBreaker') => (kind === 'circuitBreaker' ? 'circuit breaker policy' : `${kind} policy`);
const plural = (kind: 'timeout' | 'retry' | 'circuitBreaker') => (kind === 'retry' ? 'retries' : `${kind}s`);
