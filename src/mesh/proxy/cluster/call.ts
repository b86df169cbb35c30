// One downstream request through a cluster: pick, attempt, judge the outcome, and maybe try again
// on another endpoint, all under the whole-request deadline. The attempt gets a signal (signal.ts)
// that fires on the deadline, the per-try timeout or the downstream going away; it must settle soon
// after (rejecting). A result the cluster does not return is discard()ed. The common case (no
// retries, no breaker) costs the call's state object, its signal and the deadline's timer.
import { BrokenCircuitError, type CircuitBreakerPolicy, CircuitState, type IBackoff } from 'cockatiel';
import type { Member } from './endpoint';
import { classifyStatus, type Outcome, toUpstreamError } from './outcome';
import type { Plan, Plans } from './plan';
import { CallSignal } from '../../../core/call-signal';
import {
  type AttemptResult,
  type CallPolicy,
  type Endpoint,
  type FailureKind,
  NoHealthyUpstreamError,
  UpstreamError,
  UpstreamOpenCircuitError,
  UpstreamTimeoutError,
} from './types';

export interface CallStats {
  requests: number;
  retries: number;
  timeouts: number;
  noHealthy: number;
}

/** Envoy's circuit breaker thresholds with what they count: requests and retries in flight now. */
export interface CallLimits {
  maxRequests: number;
  maxRetries: number;
  requests: number;
  retries: number;
  /** Requests refused and retries not made because a threshold was reached. */
  overflows: number;
}

export interface CallHost {
  readonly name: string;
  readonly stats: CallStats;
  /** Circuit breaker thresholds, when the cluster has any. */
  readonly limits?: CallLimits;
  readonly plans: Plans;
  pick(exclude?: ReadonlySet<Endpoint>): Member | undefined;
  /** Counts an attempt's outcome against its endpoint (failures, outlier detection). */
  record(m: Member, o: Outcome): void;
}

export type Attempt<T> = (ep: Endpoint, signal: AbortSignal) => Promise<AttemptResult<T>>;

/** A failure answer carried through the breaker so that it counts, then handed back. */
class FailedAnswer<T> {
  constructor(readonly result: AttemptResult<T>) {}
}

const downstreamGone = (): UpstreamError => new UpstreamError('reset', 'the downstream request went away');

/**
 * What one call knows besides its loop variables. It is the downstream signal's listener itself
 * (handleEvent) and the timers' argument, so a call allocates no closures for them.
 */
class CallState {
  signal = new CallSignal();
  ended: 'deadline' | 'downstream' | undefined = undefined;
  perTryFired = false;
  /** Ends a backoff wait early. */
  wake: (() => void) | undefined = undefined;

  constructor(
    readonly timeoutMs: number,
    readonly perTryMs: number,
    readonly down: AbortSignal | undefined,
  ) {}

  stop(why: 'deadline' | 'downstream'): void {
    this.ended = why;
    this.signal.abort(why === 'deadline' ? new UpstreamTimeoutError(this.timeoutMs) : this.down!.reason);
    this.wake?.();
  }

  /** The downstream went away. */
  handleEvent(): void {
    this.stop('downstream');
  }
}

const onDeadline = (st: CallState): void => st.stop('deadline');
const onPerTry = (st: CallState): void => {
  st.perTryFired = true;
  st.signal.abort(new UpstreamError('timeout', `per-try timeout after ${st.perTryMs}ms`));
};

/** An attempt that reports through callbacks (exactly one of them, once). */
export type DirectAttempt<T> = (ep: Endpoint, signal: AbortSignal, ok: (r: AttemptResult<T>) => void, fail: (e: unknown) => void) => void;

/**
 * runCall() without a promise, for a plan with no retry, per-try timeout or breaker on a cluster
 * without limits (the plain proxy's case): one attempt under the deadline, its outcome recorded as
 * attempts() records it. Returns false, having done nothing, when the plan needs attempts()' loop;
 * else `done` gets the value or the error, once.
 */
export function runCallDirect<T>(host: CallHost, attempt: DirectAttempt<T>, policy: CallPolicy, done: (e: unknown, v?: T) => void): boolean {
  let plan: Plan;
  try {
    plan = host.plans.for(policy);
  } catch {
    return false; // runCall() rejects with it
  }
  if (plan.retry !== undefined || plan.breaker !== undefined || plan.perTryMs > 0 || host.limits !== undefined) return false;
  const stats = host.stats;
  stats.requests++;
  const down = policy.signal;
  if (down?.aborted) return done(downstreamGone()), true;
  const ep = host.pick();
  if (ep === undefined) {
    stats.noHealthy++;
    return done(new NoHealthyUpstreamError(host.name)), true;
  }
  const st = new CallState(policy.timeoutMs, 0, down);
  const deadline = policy.timeoutMs > 0 ? setTimeout(onDeadline, policy.timeoutMs, st) : undefined;
  if (down) down.addEventListener('abort', st);
  let settled = false;
  const finish = (result: AttemptResult<T> | undefined, failure: unknown): void => {
    if (settled) return;
    settled = true;
    ep.active--;
    if (deadline) clearTimeout(deadline);
    if (down) down.removeEventListener('abort', st);
    if (st.ended !== undefined) {
      result?.discard();
      if (st.ended === 'downstream') return done(downstreamGone());
      host.record(ep, 'timeout');
      stats.timeouts++;
      return done(new UpstreamTimeoutError(policy.timeoutMs));
    }
    if (result !== undefined) {
      host.record(ep, classifyStatus(result.status, result.protocol));
      return done(undefined, result.value);
    }
    const e = toUpstreamError(failure);
    host.record(ep, e.kind);
    done(e);
  };
  ep.active++;
  ep.requests++;
  try {
    attempt(ep, st.signal, (r) => finish(r, undefined), (e) => finish(undefined, e));
  } catch (e) {
    if (settled) throw e; // from done(), not the attempt
    finish(undefined, e);
  }
  return true;
}

/** Not an async function: the common case hands back attempts()' own promise, without another hop per request. */
export function runCall<T>(host: CallHost, attempt: Attempt<T>, policy: CallPolicy): Promise<T> {
  const stats = host.stats;
  stats.requests++;
  const down = policy.signal;
  if (down?.aborted) return Promise.reject(downstreamGone());
  let plan: Plan;
  let ep: Member | undefined;
  try {
    plan = host.plans.for(policy);
    ep = host.pick();
  } catch (e) {
    return Promise.reject(e);
  }
  if (ep === undefined) {
    stats.noHealthy++;
    return Promise.reject(new NoHealthyUpstreamError(host.name));
  }
  const limits = host.limits;
  if (limits === undefined) return attempts(host, attempt, policy, plan, ep, undefined);
  if (limits.requests >= limits.maxRequests) {
    limits.overflows++;
    return Promise.reject(new UpstreamOpenCircuitError(host.name));
  }
  limits.requests++;
  return attempts(host, attempt, policy, plan, ep, limits).finally(() => limits.requests--);
}

async function attempts<T>(host: CallHost, attempt: Attempt<T>, policy: CallPolicy, plan: Plan, ep: Member, limits: CallLimits | undefined): Promise<T> {
  const stats = host.stats;
  const down = policy.signal;
  let retrying = false;
  const st = new CallState(policy.timeoutMs, plan.perTryMs, down);
  const deadline = policy.timeoutMs > 0 ? setTimeout(onDeadline, policy.timeoutMs, st) : undefined;
  if (down) down.addEventListener('abort', st);
  try {
    let tried: Set<Endpoint> | undefined;
    let backoff: IBackoff<unknown> | undefined;
    let result: AttemptResult<T> | undefined;
    let failure: unknown;
    for (let n = 0; ; n++) {
      result = undefined;
      failure = undefined;
      const perTry = plan.perTryMs > 0 ? setTimeout(onPerTry, plan.perTryMs, st) : undefined;
      ep.active++;
      ep.requests++;
      let broken = false;
      try {
        result = plan.breaker ? await throughBreaker(plan.breaker, attempt, ep, st.signal, down) : await attempt(ep, st.signal);
      } catch (e) {
        if (e instanceof FailedAnswer) result = e.result as AttemptResult<T>;
        else if (e instanceof BrokenCircuitError) broken = true;
        else failure = e;
      } finally {
        ep.active--;
        if (perTry) clearTimeout(perTry);
      }
      if (broken) {
        ep.requests--; // it never ran
        throw new UpstreamOpenCircuitError(host.name);
      }
      if (st.ended !== undefined) {
        result?.discard();
        if (st.ended === 'downstream') throw downstreamGone();
        host.record(ep, 'timeout');
        stats.timeouts++;
        throw new UpstreamTimeoutError(policy.timeoutMs);
      }
      let outcome: Outcome;
      if (st.perTryFired) {
        // Even an answer that made it as the timer fired was cut off: the signal it streams under is aborted.
        result?.discard();
        result = undefined;
        outcome = 'timeout';
        failure = new UpstreamTimeoutError(plan.perTryMs);
        stats.timeouts++;
      } else if (result !== undefined) {
        outcome = classifyStatus(result.status, result.protocol);
      } else {
        failure = toUpstreamError(failure);
        outcome = (failure as UpstreamError).kind;
      }
      host.record(ep, outcome);

      const retry = plan.retry;
      if (retry === undefined || n >= retry.attempts) break;
      // A body that cannot be sent twice allows a retry only when nothing was sent.
      if (!policy.replayable && outcome !== 'connect-failure') break;
      if (!(result !== undefined ? retry.onAnswer(result.status, result.protocol) : retry.onError(outcome as FailureKind))) break;
      if (plan.breaker?.state === CircuitState.Open) break;
      if (limits !== undefined && !retrying) {
        if (limits.retries >= limits.maxRetries) {
          limits.overflows++;
          break;
        }
        limits.retries++;
        retrying = true;
      }
      (tried ??= new Set()).add(ep);
      const next = host.pick(tried) ?? host.pick();
      if (next === undefined) break;
      result?.discard();
      result = undefined;
      stats.retries++;
      backoff = backoff === undefined ? retry.backoff.next(undefined) : backoff.next(undefined);
      if (backoff.duration > 0) {
        const ms = backoff.duration;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, ms);
          st.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        st.wake = undefined;
      }
      if (st.ended === 'downstream') throw downstreamGone();
      if (st.ended === 'deadline') {
        stats.timeouts++;
        throw new UpstreamTimeoutError(policy.timeoutMs);
      }
      if (st.signal.aborted) st.signal = new CallSignal();
      st.perTryFired = false;
      ep = next;
    }
    if (result !== undefined) return result.value;
    throw failure;
  } finally {
    if (deadline) clearTimeout(deadline);
    if (down) down.removeEventListener('abort', st);
    if (retrying) limits!.retries--;
  }
}

/** One attempt under the breaker: errors and server-failure answers count against it. */
function throughBreaker<T>(breaker: CircuitBreakerPolicy, attempt: Attempt<T>, ep: Endpoint, signal: AbortSignal, down: AbortSignal | undefined): Promise<AttemptResult<T> | undefined> {
  return breaker.execute(async () => {
    let r: AttemptResult<T>;
    try {
      r = await attempt(ep, signal);
    } catch (e) {
      if (down?.aborted) return undefined; // the client left: not the endpoint's failure
      throw e;
    }
    if (classifyStatus(r.status, r.protocol) !== 'ok') throw new FailedAnswer(r);
    return r;
  });
}
