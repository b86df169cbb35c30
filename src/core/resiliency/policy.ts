// One run of an operation under a target's policies, nested as daprd nests them: retry outermost,
// then the circuit breaker, then the timeout around each attempt. A timed-out or failed attempt
// counts against the breaker; an open breaker ends the retries at once (gobreaker's errors are
// permanent in daprd), as do PermanentErrors and status codes the retry's `matching` leaves out.
import { setTimeout as sleep } from 'node:timers/promises';
import { BrokenCircuitError, type CircuitBreakerPolicy, handleWhen, retry, TaskCancelledError, timeout, TimeoutStrategy } from 'cockatiel';
import type { Logger } from 'pino';
import { backoffOf } from './backoff';
import { CircuitBreakerOpenError, NEVER_ABORTED, PermanentError, ResiliencyTimeoutError, runOnce, StatusCodeError, unwrapPermanent } from './errors';
import type { CodeRange, RetrySpec } from './spec';
import type { Operation } from './types';

/** cenkalti/backoff's default MaxElapsedTime, which dapr/kit keeps for exponential retries. */
const EXPONENTIAL_MAX_ELAPSED_MS = 15 * 60_000;

export interface PolicyDefinition {
  /** For logs and errors, e.g. `app[orders]`, `component[statestore] outbound`. */
  target: string;
  timeoutMs?: number;
  retry?: RetrySpec;
  breaker?: CircuitBreakerPolicy;
}

export const isEmpty = (d: PolicyDefinition): boolean => !d.timeoutMs && !d.retry && !d.breaker;

export function runPolicy<T>(def: PolicyDefinition, op: Operation<T>, log?: Logger): Promise<T> {
  if (isEmpty(def)) return runOnce(op);
  const r = def.retry;
  if (r && r.policy === 'constant' && !def.timeoutMs && !def.breaker && r.maxRetries !== 0) return retryConstant(def, r, op, log);
  return runPolicies(def, op, log, Date.now(), r && r.maxRetries < 0 ? Infinity : (r?.maxRetries ?? 0), false);
}

/**
 * Retries alone at a constant interval (daprd's built-in sidecar retries, on every call to another
 * sidecar): the first attempt runs bare, and the policies (a dozen objects a call) are built only
 * once it failed in a way that is retried; a constant interval makes the rest the same as one
 * policy over every attempt.
 */
async function retryConstant<T>(def: PolicyDefinition, r: RetrySpec, op: Operation<T>, log: Logger | undefined): Promise<T> {
  const started = Date.now();
  try {
    return await op(NEVER_ABORTED);
  } catch (e) {
    if (!shouldRetry(r, e, started)) throw translate(e, def);
    log?.info(`error processing operation ${def.target}, retrying: ${String(unwrapPermanent(e))}`);
  }
  await sleep(r.durationMs);
  return runPolicies(def, op, log, started, r.maxRetries < 0 ? Infinity : r.maxRetries - 1, true);
}

/** The policies over `retries` retries; `failed`: an attempt failed already (logged as retrying). */
async function runPolicies<T>(def: PolicyDefinition, op: Operation<T>, log: Logger | undefined, started: number, retries: number, failed: boolean): Promise<T> {
  const limit = def.timeoutMs ? timeout(def.timeoutMs, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false }) : undefined;
  // An operation that gives up because its signal fired failed by the timeout, whatever it says.
  const bounded = async (signal: AbortSignal): Promise<T> => {
    try {
      return await op(signal);
    } catch (e) {
      throw signal.aborted ? new ResiliencyTimeoutError(def.timeoutMs!) : e;
    }
  };
  const attempt = (signal: AbortSignal): Promise<T> => (limit ? limit.execute((ctx) => bounded(ctx.signal), signal) : op(signal));
  const guarded = def.breaker ? (signal: AbortSignal) => def.breaker!.execute(() => attempt(signal), signal) : attempt;
  try {
    if (!def.retry) return await guarded(NEVER_ABORTED);
    const r = def.retry;
    const policy = retry(
      handleWhen((e) => shouldRetry(r, e, started)),
      { maxAttempts: retries, backoff: backoffOf(r) },
    );
    policy.onRetry((ev) => {
      if (failed) return;
      failed = true;
      log?.info(`error processing operation ${def.target}, retrying: ${'error' in ev ? String(unwrapPermanent(ev.error)) : 'failed'}`);
    });
    // NEVER_ABORTED (cockatiel's own default is another never-aborting signal): callers can tell it needs no listening.
    const result = await policy.execute(({ signal }) => guarded(signal), NEVER_ABORTED);
    if (failed) log?.info(`recovered processing operation ${def.target}`);
    return result;
  } catch (e) {
    throw translate(e, def);
  }
}

function shouldRetry(r: RetrySpec, e: unknown, started: number): boolean {
  if (e instanceof BrokenCircuitError || e instanceof PermanentError) return false;
  if (r.retryable && !r.retryable(e)) return false;
  if (e instanceof StatusCodeError && !matches(r, e)) return false;
  return r.policy !== 'exponential' || Date.now() - started < EXPONENTIAL_MAX_ELAPSED_MS;
}

function matches(r: RetrySpec, e: StatusCodeError): boolean {
  const ranges: CodeRange[] | undefined = e.protocol === 'grpc' ? r.matching.grpc : r.matching.http;
  return !ranges || ranges.some(([lo, hi]) => e.statusCode >= lo && e.statusCode <= hi);
}

function translate(e: unknown, def: PolicyDefinition): unknown {
  if (e instanceof BrokenCircuitError) return new CircuitBreakerOpenError(def.target);
  if (e instanceof TaskCancelledError && def.timeoutMs) return new ResiliencyTimeoutError(def.timeoutMs);
  return unwrapPermanent(e);
}
