// A failed function call or admin operation as an HTTP answer: status, the `{"error": ...}` body
// Layotto's admin API uses, and the failure kind so a client can tell a trap from a timeout
// without parsing text. Anything that is not a FunctionError is the sidecar's fault: 500.
import { FunctionError, type FunctionFailureKind } from './types';

export const FAILURE_STATUS: Record<FunctionFailureKind, number> = {
  not_found: 404,
  load: 500, // Layotto answers a module that will not load with 500
  trap: 500,
  timeout: 504,
  memory: 500,
  busy: 503,
};

export interface FailureAnswer {
  status: number;
  body: { error: string; kind?: FunctionFailureKind };
}

export function failureAnswer(e: unknown): FailureAnswer {
  if (e instanceof FunctionError) return { status: FAILURE_STATUS[e.kind] ?? 500, body: { error: e.message, kind: e.kind } };
  // Errors crossing a worker boundary lose their class; the engine keeps `kind` on them.
  const kind = (e as { kind?: unknown } | null)?.kind;
  if (typeof kind === 'string' && kind in FAILURE_STATUS) return { status: FAILURE_STATUS[kind as FunctionFailureKind], body: { error: (e as Error).message, kind: kind as FunctionFailureKind } };
  return { status: 500, body: { error: e instanceof Error ? e.message : String(e) } };
}
