// "Try again after reconnectWait", once at a time: scheduling while a retry is pending is a
// no-op, and the wait has a floor so reconnectWait "0" cannot become a busy loop against a broker
// that keeps refusing.
const MIN_WAIT_MS = 100;

export class RetryTimer {
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly waitMs: number) {}

  schedule(fn: () => void): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      fn();
    }, Math.max(this.waitMs, MIN_WAIT_MS));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
