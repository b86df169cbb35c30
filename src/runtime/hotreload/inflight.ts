// Calls in progress per component instance, so a replaced or removed instance is closed only once
// the requests that already hold it have finished ("requests in flight finish on the old one").
// Every instance entering the store is wrapped: each method call counts until it returns, or until
// its promise settles.

interface Count {
  n: number;
  idle: (() => void)[];
}

export class InFlight {
  private readonly counts = new WeakMap<object, Count>();

  /** The instance wrapped so its calls are counted; what the store hands out. */
  track<T extends object>(instance: T): T {
    const count: Count = { n: 0, idle: [] };
    const done = () => {
      if (--count.n === 0) for (const f of count.idle.splice(0)) f();
    };
    const wrapped = new Map<PropertyKey, { fn: unknown; w: unknown }>();
    const proxy = new Proxy(instance, {
      get(target, prop) {
        const v: unknown = Reflect.get(target, prop);
        if (typeof v !== 'function' || prop === 'constructor') return v;
        const cached = wrapped.get(prop);
        if (cached?.fn === v) return cached.w;
        {
          const w = (...args: unknown[]) => {
            count.n++;
            let r: unknown;
            try {
              r = (v as (...a: unknown[]) => unknown).apply(target, args);
            } catch (e) {
              done();
              throw e;
            }
            if (r instanceof Promise) return r.finally(done);
            done();
            return r;
          };
          wrapped.set(prop, { fn: v, w });
          return w;
        }
      },
    });
    this.counts.set(proxy, count);
    return proxy;
  }

  /** Calls in progress on a wrapped instance (0 for one never wrapped). */
  active(instance: object): number {
    return this.counts.get(instance)?.n ?? 0;
  }

  /** Resolves once no call is in progress, or after maxMs; true when it drained. */
  drained(instance: object, maxMs: number): Promise<boolean> {
    const count = this.counts.get(instance);
    if (!count || count.n === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), maxMs);
      count.idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
