// Circuit breakers as daprd configures gobreaker: `consecutiveFailures > N` maps onto cockatiel's
// ConsecutiveBreaker; any other trip expression is evaluated over gobreaker's counters, which
// start over every `interval` while closed and whenever the state changes.
import { CircuitBreakerPolicy, CircuitState, ConsecutiveBreaker, circuitBreaker, handleAll, type IBreaker } from 'cockatiel';
import type { BreakerSpec, Counts } from './spec';

const zero = (): Counts => ({ requests: 0, totalSuccesses: 0, totalFailures: 0, consecutiveSuccesses: 0, consecutiveFailures: 0 });

export class CountsBreaker implements IBreaker {
  state: Counts = zero();
  private expiry: number;

  constructor(
    private readonly trip: (c: Counts) => boolean,
    private readonly intervalMs: number,
  ) {
    this.expiry = this.nextExpiry();
  }

  success(state: CircuitState): void {
    if (state === CircuitState.HalfOpen) return this.reset();
    this.count(true);
  }

  failure(state: CircuitState): boolean {
    if (state === CircuitState.HalfOpen) {
      this.reset();
      return true;
    }
    this.count(false);
    let open = false;
    try {
      open = this.trip({ ...this.state }) === true;
    } catch {
      // gobreaker does not trip when the expression fails to evaluate.
    }
    if (open) this.reset();
    return open;
  }

  private count(ok: boolean): void {
    this.roll();
    const c = this.state;
    c.requests++;
    if (ok) {
      c.totalSuccesses++;
      c.consecutiveSuccesses++;
      c.consecutiveFailures = 0;
    } else {
      c.totalFailures++;
      c.consecutiveFailures++;
      c.consecutiveSuccesses = 0;
    }
  }

  private roll(): void {
    if (this.intervalMs > 0 && Date.now() >= this.expiry) this.reset();
  }

  private reset(): void {
    this.state = zero();
    this.expiry = this.nextExpiry();
  }

  private nextExpiry(): number {
    return this.intervalMs > 0 ? Date.now() + this.intervalMs : Infinity;
  }
}

/** A fresh breaker instance from a named template. */
export function newBreaker(spec: BreakerSpec): CircuitBreakerPolicy {
  const breaker =
    spec.consecutiveFailuresAbove !== undefined && spec.intervalMs === 0
      ? new ConsecutiveBreaker(spec.consecutiveFailuresAbove + 1)
      : new CountsBreaker(spec.evaluate, spec.intervalMs);
  return circuitBreaker(handleAll, { halfOpenAfter: spec.timeoutMs, breaker });
}
