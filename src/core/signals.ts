// One signal for "any of these aborted", detachable. Node 20's AbortSignal.any keeps every signal it
// makes reachable from its sources for as long as they live, so composing with a long-lived signal
// (a policy's NEVER_ABORTED) grows the heap with every call; this one lets go on dispose().

export interface Linked {
  signal: AbortSignal;
  dispose(): void;
}

export function anyOf(...signals: AbortSignal[]): Linked {
  const ac = new AbortController();
  const abort = () => {
    dispose();
    ac.abort();
  };
  const dispose = () => {
    for (const s of signals) s.removeEventListener('abort', abort);
  };
  if (signals.some((s) => s.aborted)) ac.abort();
  else for (const s of signals) s.addEventListener('abort', abort, { once: true });
  return { signal: ac.signal, dispose };
}
