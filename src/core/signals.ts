// One signal for "any of these aborted", detachable. Node 20's AbortSignal.any keeps every signal it
// makes reachable from its sources for as long as they live, so composing with a long-lived signal
// (a policy's NEVER_ABORTED) grows the heap with every call; this one lets go on dispose().
import { CallSignal } from './call-signal';
import { NEVER_ABORTED } from './resiliency/errors';

export interface Linked {
  signal: AbortSignal;
  dispose(): void;
}

const nothing = (): void => undefined;

export function anyOf(...signals: AbortSignal[]): Linked {
  // A signal that can never fire adds nothing; one left is used as it is (an AbortController and
  // its listeners per call showed on the invocation profile, where policies mostly pass NEVER_ABORTED).
  const live = signals.filter((s) => s !== NEVER_ABORTED);
  if (live.length <= 1) return { signal: live[0] ?? NEVER_ABORTED, dispose: nothing };
  const ac = new CallSignal();
  const abort = () => {
    dispose();
    ac.abort();
  };
  const dispose = () => {
    for (const s of live) s.removeEventListener('abort', abort);
  };
  if (live.some((s) => s.aborted)) ac.abort();
  else for (const s of live) s.addEventListener('abort', abort, { once: true });
  return { signal: ac, dispose };
}
