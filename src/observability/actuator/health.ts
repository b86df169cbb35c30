// Health as Layotto's actuator reports it (pkg/actuator/health): indicators say UP, DOWN or INIT
// with optional details, and a probe's status is the worst of them (any DOWN → DOWN, else any
// INIT → INIT, else UP).
export type Status = 'UP' | 'DOWN' | 'INIT';

export interface Health {
  status: Status;
  /** Left out when empty, as Layotto's `details,omitempty`. */
  details?: Record<string, unknown>;
}

export interface HealthReport {
  status: Status;
  components: Record<string, Health>;
}

export function aggregate(components: Record<string, Health>): HealthReport {
  const all = Object.values(components).map((h) => h.status);
  const status: Status = all.includes('DOWN') ? 'DOWN' : all.includes('INIT') ? 'INIT' : 'UP';
  return { status, components };
}

/**
 * Layotto's built-in `runtime_startup` indicator: INIT ("starting") until `started()` holds,
 * then UP; DOWN with the reason once the runtime stops or failed.
 */
export function startupHealth(started: boolean, downReason: string | undefined): Health {
  if (downReason !== undefined) return { status: 'DOWN', details: { reason: downReason } };
  return started ? { status: 'UP', details: { reason: '' } } : { status: 'INIT', details: { reason: 'starting' } };
}

/** A check that throws when unhealthy (core's healthz style) as a boolean. */
export function passes(check: () => void): boolean {
  try {
    check();
    return true;
  } catch {
    return false;
  }
}
