// App health checks (--enable-app-health-check), as daprd's pkg/apphealth: the app starts out
// unhealthy, one successful probe makes it healthy, `threshold` failed probes in a row make it
// unhealthy again. While it is unhealthy, invocations fail at once with daprd's "app is not in a
// healthy state" and pub/sub deliveries wait for it to recover.
import type { Logger } from 'pino';
import type { InvokeRequest, InvokeResponse } from '../core/invoke/types';
import type { AppBindingEvent, AppBindingReply, AppBulkEvent, AppChannel, AppEventStatus, AppSubscription, AppTopicEvent } from './types';

export interface AppHealthOptions {
  /** --app-health-probe-interval, in ms. */
  intervalMs: number;
  /** --app-health-probe-timeout, in ms. */
  timeoutMs: number;
  /** --app-health-threshold: failed probes in a row before the app counts as unhealthy. */
  threshold: number;
}

export const APP_UNHEALTHY = 'app is not in a healthy state';

export class AppHealth {
  /** Failed probes in a row; starts at the threshold: unhealthy until a probe succeeds. */
  private failures: number;
  private timer?: NodeJS.Timeout;
  private probing?: AbortController;
  private stopped = false;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly probe: (signal: AbortSignal) => Promise<boolean>,
    private readonly opts: AppHealthOptions,
    private readonly log?: Logger,
  ) {
    this.failures = opts.threshold;
  }

  get healthy(): boolean {
    return this.failures < this.opts.threshold;
  }

  /** Probes now, then every interval until stop(). */
  start(): void {
    this.log?.info('App health probes starting');
    void this.tick();
  }

  /** Resolves once the app is healthy (at once if it is), or when the checks stop. */
  whenHealthy(): Promise<void> {
    if (this.healthy || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.probing?.abort();
    this.release();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const probing = (this.probing = new AbortController());
    const timeout = setTimeout(() => probing.abort(), this.opts.timeoutMs);
    let ok = false;
    try {
      // An answer after the timeout does not count.
      ok = (await this.probe(probing.signal)) && !probing.signal.aborted;
    } catch {
      ok = false;
    } finally {
      clearTimeout(timeout);
    }
    if (this.stopped) return;
    this.record(ok);
    this.timer = setTimeout(() => void this.tick(), this.opts.intervalMs);
    this.timer.unref();
  }

  private record(ok: boolean): void {
    const was = this.healthy;
    this.failures = ok ? 0 : Math.min(this.failures + 1, this.opts.threshold);
    if (this.healthy === was) return;
    if (this.healthy) {
      this.log?.info('App entered healthy status');
      this.release();
    } else {
      this.log?.warn('App entered un-healthy status');
    }
  }

  private release(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** An app channel gated by health checks. */
export class HealthCheckedChannel implements AppChannel {
  constructor(
    private readonly inner: AppChannel,
    readonly health: AppHealth,
  ) {}

  get kind(): string {
    return this.inner.kind;
  }

  invoke(req: InvokeRequest, signal?: AbortSignal): Promise<InvokeResponse> {
    if (!this.health.healthy) return Promise.reject(new Error(APP_UNHEALTHY));
    return this.inner.invoke(req, signal);
  }

  /** Not held back: the sidecar turns ready without waiting for the app's health, as daprd does. */
  listSubscriptions(): Promise<AppSubscription[]> {
    return this.inner.listSubscriptions();
  }

  async deliverEvent(ev: AppTopicEvent): Promise<AppEventStatus> {
    await this.health.whenHealthy();
    return this.inner.deliverEvent(ev);
  }

  async deliverBulk(ev: AppBulkEvent): Promise<Map<string, AppEventStatus>> {
    await this.health.whenHealthy();
    return this.inner.deliverBulk(ev);
  }

  listensToBinding(name: string, route: string): Promise<boolean> {
    return this.inner.listensToBinding(name, route);
  }

  async deliverBindingEvent(ev: AppBindingEvent): Promise<AppBindingReply> {
    await this.health.whenHealthy();
    return this.inner.deliverBindingEvent(ev);
  }

  probeHealth(signal: AbortSignal): Promise<boolean> {
    return this.inner.probeHealth(signal);
  }

  async close(): Promise<void> {
    this.health.stop();
    await this.inner.close();
  }
}

/** The channel behind health checks, probing from now on. */
export function healthChecked(channel: AppChannel, opts: AppHealthOptions, log?: Logger): HealthCheckedChannel {
  const health = new AppHealth((signal) => channel.probeHealth(signal), opts, log);
  health.start();
  return new HealthCheckedChannel(channel, health);
}
