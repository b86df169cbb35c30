// One AMQP connection that comes back by itself: when the broker drops it (restart, network),
// a new one is dialled every reconnectWait until it works, then the listeners re-declare their
// topology and re-subscribe. Callers that need the connection wait a bounded time for it.
import { connect, credentials, type ChannelModel } from 'amqplib';
import type { RabbitMQConfig } from './metadata';
import { RetryTimer } from './retry-timer';

/** A dial that neither connects nor fails within this long is abandoned. */
const CONNECT_TIMEOUT_MS = 5000;

interface Waiter {
  resolve(m: ChannelModel): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/** What a session needs from a component's config (pub/sub's, and bindings.rabbitmq's). */
export type SessionConfig = Pick<RabbitMQConfig, 'url' | 'address' | 'reconnectWaitMs' | 'clientName' | 'caCert' | 'clientCert' | 'clientKey' | 'saslExternal'>;

export class AmqpSession {
  private model?: ChannelModel;
  private stopped = false;
  private readonly retry: RetryTimer;
  private dialing?: Promise<void>;
  private readonly waiters = new Set<Waiter>();
  private readonly listeners = new Set<(m: ChannelModel) => void>();

  constructor(
    private readonly cfg: SessionConfig,
    /** Names the component in errors. */
    private readonly label = 'rabbitmq pub/sub',
  ) {
    this.retry = new RetryTimer(cfg.reconnectWaitMs);
  }

  /** The first connection: a broker that is down or refuses us fails here, with the reason. */
  async open(): Promise<void> {
    try {
      this.model = await this.dial();
    } catch (e) {
      throw new Error(`${this.label}: error connecting to ${this.cfg.address}: ${(e as Error).message}`);
    }
  }

  /** Called with every new connection after a loss. */
  onReconnect(fn: (m: ChannelModel) => void): void {
    this.listeners.add(fn);
  }

  get current(): ChannelModel | undefined {
    return this.model;
  }

  /** The open connection, waiting up to `ms` for a reconnect when there is none. */
  ready(ms: number): Promise<ChannelModel> {
    if (this.model) return Promise.resolve(this.model);
    if (this.stopped) return Promise.reject(new Error('component is closed'));
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(w);
          reject(new Error(`not connected to ${this.cfg.address} (reconnecting; waited ${ms} ms)`));
        }, ms),
      };
      this.waiters.add(w);
    });
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.retry.stop();
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new Error('component is closed'));
    }
    this.waiters.clear();
    // A redial in flight sees `stopped` and closes what it got rather than leaking a socket.
    await this.dialing;
    const m = this.model;
    this.model = undefined;
    if (m) await closeQuietly(m);
  }

  private async dial(): Promise<ChannelModel> {
    const cfg = this.cfg;
    const model = await connect(cfg.url, {
      timeout: CONNECT_TIMEOUT_MS,
      // Publisher confirms and consumer acks are small frames on one socket: with Nagle on they
      // wait for delayed ACKs (~40 ms each), which dominated publish-to-delivery latency.
      noDelay: true,
      clientProperties: cfg.clientName ? { connection_name: cfg.clientName } : undefined,
      ca: cfg.caCert ? [cfg.caCert] : undefined,
      cert: cfg.clientCert,
      key: cfg.clientKey,
      credentials: cfg.saslExternal ? credentials.external() : undefined,
    });
    // 'error' always precedes 'close' here; without a listener the emitter would throw.
    model.on('error', () => undefined);
    model.on('close', () => this.lost(model));
    return model;
  }

  private lost(m: ChannelModel): void {
    if (this.model !== m) return;
    this.model = undefined;
    this.retryLater();
  }

  private retryLater(): void {
    this.retry.schedule(() => {
      this.dialing = this.redial().finally(() => (this.dialing = undefined));
    });
  }

  private async redial(): Promise<void> {
    let m: ChannelModel;
    try {
      m = await this.dial();
    } catch {
      return this.retryLater();
    }
    if (this.stopped) return closeQuietly(m);
    this.model = m;
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.resolve(m);
    }
    this.waiters.clear();
    for (const fn of this.listeners) fn(m);
  }
}

/** Closes a connection or channel that may already be gone. */
export async function closeQuietly(c: { close(): Promise<void> }): Promise<void> {
  try {
    await c.close();
  } catch {
    // Already closed or the socket is dead: nothing left to release.
  }
}
