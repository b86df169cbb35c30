// contrib's queue + workers: every subscription of a component feeds one queue of at most
// `queueDepth` entries, and at most `concurrency` of them are handled at once. Readers wait for
// room before they fetch, so Redis keeps what the process cannot take yet.

export interface Job {
  /** Unique per entry (topic + id): lets the reclaimer skip entries this process still holds. */
  key: string;
  /** The subscription it belongs to: its queued jobs are dropped when it closes. */
  owner: object;
  /** Handles the entry; must not reject. */
  run: () => Promise<void>;
}

export class WorkQueue {
  private readonly queued: Job[] = [];
  private readonly held = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  private readonly roomWaiters = new Set<() => void>();

  constructor(
    private readonly depth: number,
    private readonly concurrency: number,
  ) {}

  /** How many more entries may be queued now. */
  room(): number {
    return Math.max(0, this.depth - this.queued.length);
  }

  /** Whether the entry is queued or being handled here. */
  holds(key: string): boolean {
    return this.held.has(key);
  }

  /** Resolves once there is room, or when signal aborts. */
  waitForRoom(signal: AbortSignal): Promise<void> {
    if (this.room() > 0 || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.roomWaiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.roomWaiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  push(job: Job): void {
    if (this.held.has(job.key)) return;
    this.held.add(job.key);
    this.queued.push(job);
    this.pump();
  }

  /** Forgets the owner's queued jobs (they stay pending in Redis); running ones finish. */
  drop(owner: object): void {
    for (let i = this.queued.length - 1; i >= 0; i--) {
      if (this.queued[i]!.owner !== owner) continue;
      this.held.delete(this.queued[i]!.key);
      this.queued.splice(i, 1);
    }
    this.wakeRoomWaiters();
  }

  /** Waits for the running jobs, at most ms. */
  async settle(ms: number): Promise<void> {
    if (this.running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
    await Promise.race([Promise.allSettled([...this.running]), late]);
    clearTimeout(timer);
  }

  private pump(): void {
    while (this.running.size < this.concurrency && this.queued.length > 0) {
      const job = this.queued.shift()!;
      const p: Promise<void> = job
        .run()
        .catch(() => undefined)
        .finally(() => {
          this.running.delete(p);
          this.held.delete(job.key);
          this.pump();
        });
      this.running.add(p);
    }
    this.wakeRoomWaiters();
  }

  private wakeRoomWaiters(): void {
    if (this.room() === 0) return;
    for (const wake of [...this.roomWaiters]) wake();
  }
}
