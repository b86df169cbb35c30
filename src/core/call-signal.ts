// A per-call cancellation signal. Node 20 builds an AbortSignal in several microseconds (an
// EventTarget whose prototype is swapped afterwards, which leaves it a slow dictionary object), and
// one made per call survives young-generation GCs with whatever its listeners hold, which lengthens
// every scavenge of a busy sidecar (the invocation tail). Calls that finish unaborted, nearly all,
// need neither: this one has the fields and 'abort' events that node:http, http2, net and undici
// use (they accept any object with `aborted` and addEventListener), for the cost of a small object.
// Brand-checking APIs (AbortSignal.any, fetch) want a real one: toAbortSignal() links one to it.

type Listener = Parameters<AbortSignal['addEventListener']>[1];
type ListenerOptions = Parameters<AbortSignal['addEventListener']>[2];

export class CallSignal implements AbortSignal {
  aborted = false;
  reason: unknown = undefined;
  onabort: ((this: AbortSignal, ev: Event) => unknown) | null = null;
  private listeners: Listener[] | undefined = undefined;

  addEventListener(type: string, listener: Listener | null, options?: ListenerOptions): void {
    if (type !== 'abort' || !listener || this.aborted) return;
    if (this.listeners?.includes(listener)) return; // EventTarget ignores a listener added twice
    // Every listener runs at most once (abort happens once), so `once` needs nothing more.
    (this.listeners ??= []).push(listener);
    if (typeof options === 'object' && options?.signal) options.signal.addEventListener('abort', () => this.removeEventListener(type, listener), { once: true });
  }

  removeEventListener(type: string, listener: Listener | null): void {
    if (type !== 'abort' || !listener || !this.listeners) return;
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  dispatchEvent(event: Event): boolean {
    if (event.type !== 'abort') return true;
    this.onabort?.call(this, event);
    const ls = this.listeners;
    this.listeners = undefined;
    for (const l of ls ?? []) {
      try {
        if (typeof l === 'function') l.call(this, event);
        else l.handleEvent(event);
      } catch (e) {
        // As EventTarget does: a throwing listener does not stop the others; the error is reported.
        process.nextTick(() => {
          throw e;
        });
      }
    }
    return true;
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }

  /** AbortController.abort(): once, with a reason (an AbortError DOMException by default). */
  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason ?? new DOMException('This operation was aborted', 'AbortError');
    this.dispatchEvent(new Event('abort'));
  }
}

/** A real AbortSignal for an attempt's signal, for the APIs that check the brand. */
export function toAbortSignal(signal: AbortSignal): AbortSignal {
  if (!(signal instanceof CallSignal)) return signal;
  if (signal.aborted) return AbortSignal.abort(signal.reason);
  const ac = new AbortController();
  signal.addEventListener('abort', () => ac.abort(signal.reason), { once: true });
  return ac.signal;
}
