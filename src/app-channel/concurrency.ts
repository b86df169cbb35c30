// --app-max-concurrency: at most N calls into the app at once, the rest wait their turn (FIFO).
// daprd holds one slot per app-channel call for the whole request/response; so do both channels.

/** A counting semaphore; a limit ≤ 0 (or none) means no cap. */
export class Semaphore {
  readonly limit: number;
  private active = 0;
  /** Waiters in arrival order; `head` is the next one to wake (no Array.shift on the hot path). */
  private queue: (() => void)[] = [];
  private head = 0;

  constructor(limit?: number) {
    this.limit = limit !== undefined && Number.isFinite(limit) && limit > 0 ? Math.floor(limit) : 0;
  }

  /** Calls running now. */
  get inFlight(): number {
    return this.active;
  }

  /** Calls waiting for a slot. */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  /** Runs `fn` once a slot is free and frees the slot when it settles. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.limit === 0) return fn();
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /**
   * Like run(), for a call whose answer streams: the caller gets `value` as soon as `start` gives
   * it, while the slot stays taken until `done` (the answer read to its end, or dropped) settles.
   */
  hold<T>(start: () => Promise<{ value: T; done: () => Promise<unknown> }>): Promise<T> {
    // No cap: nothing to hold, so nobody needs to learn when the answer ends (`done` is not asked).
    if (this.limit === 0) return start().then((s) => s.value);
    return new Promise<T>((resolve, reject) => {
      void this.run(async () => {
        let started: { value: T; done: () => Promise<unknown> };
        try {
          started = await start();
        } catch (e) {
          reject(e);
          return;
        }
        resolve(started.value);
        await started.done().catch(() => undefined);
      });
    });
  }

  private acquire(): Promise<void> | void {
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    return new Promise<void>((resolve) => this.queue.push(resolve));
  }

  private release(): void {
    if (this.head < this.queue.length) {
      // Hand the slot straight to the oldest waiter: `active` stays as it is.
      const next = this.queue[this.head]!;
      this.head++;
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      next();
      return;
    }
    this.active--;
  }
}
