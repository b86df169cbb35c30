// What a policy run can end with besides the operation's own error, and the markers an operation
// uses to steer retries (daprd's backoff.Permanent and resiliency.CodeError).
import type { Operation } from './types';

/** The breaker for the target is open: the call failed fast without running (gobreaker's text). */
export class CircuitBreakerOpenError extends Error {
  constructor(readonly target: string) {
    super('circuit breaker is open');
    this.name = 'CircuitBreakerOpenError';
  }
}

/** The operation did not settle within the target's timeout policy. */
export class ResiliencyTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    // daprd reports Go's context.DeadlineExceeded; the duration is added for the reader.
    super(`context deadline exceeded (timeout ${timeoutMs}ms)`);
    this.name = 'ResiliencyTimeoutError';
  }
}

/**
 * A response the target answered with a failure status (daprd's resiliency.CodeError): HTTP 100-599
 * or gRPC 0-16. Retries honour the policy's `matching` codes; the breaker counts it as a failure.
 * `response` carries whatever the caller needs to answer with it once the policy gives up.
 */
export class StatusCodeError<R = unknown> extends Error {
  constructor(
    readonly statusCode: number,
    readonly protocol: 'http' | 'grpc',
    message: string,
    readonly response?: R,
  ) {
    super(message);
    this.name = 'StatusCodeError';
  }
}

/** Wraps an error that must not be retried (an ETag mismatch, a consumed request stream). */
export class PermanentError extends Error {
  constructor(readonly error: unknown) {
    super(error instanceof Error ? error.message : String(error));
    this.name = 'PermanentError';
  }
}

export const permanent = (error: unknown): PermanentError => (error instanceof PermanentError ? error : new PermanentError(error));

/** The error as the caller should see it: permanent wrappers removed. */
export const unwrapPermanent = (e: unknown): unknown => (e instanceof PermanentError ? e.error : e);

/** A signal for operations that have no timeout. */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal;

const rethrowUnwrapped = (e: unknown): never => {
  throw unwrapPermanent(e);
};

/**
 * Runs an operation once, without policies (callers still see their error unwrapped). Not an
 * async function: this runs on every call, and a suspended async frame costs more than one then().
 */
export function runOnce<T>(op: Operation<T>): Promise<T> {
  let p: Promise<T>;
  try {
    p = op(NEVER_ABORTED);
  } catch (e) {
    return Promise.reject(unwrapPermanent(e));
  }
  return p.then(undefined, rethrowUnwrapped);
}
