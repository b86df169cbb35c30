// An L4 listener: every accepted connection is tunnelled to an endpoint of the listener's cluster
// (connect failures try the next endpoint); bytes are counted per listener.
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ListenerConfig } from './config';
import type { Cluster } from './cluster/types';
import { connectThrough, tunnel } from './forward-tcp';
import { listen, type ProxyListener } from './listener';

export class TcpListener implements ProxyListener {
  readonly stats = { connections: 0, active: 0, failed: 0, bytesSent: 0, bytesReceived: 0 };
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    public config: ListenerConfig,
    private cluster: Cluster,
    private readonly log: Logger,
  ) {
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => this.accept(s));
  }

  /** An update (same name, address and protocol): new connections go to `cluster`; open tunnels stay where they are. */
  reconfigure(config: ListenerConfig, cluster: Cluster): void {
    this.config = config;
    this.cluster = cluster;
  }

  async start(): Promise<void> {
    this.port = await listen(this.server, this.config);
  }

  private accept(down: Socket): void {
    const stats = this.stats;
    stats.connections++;
    stats.active++;
    this.sockets.add(down);
    down.setNoDelay(true);
    const gone = new AbortController();
    const onEarly = () => gone.abort(new Error('the downstream connection closed'));
    down.once('close', onEarly);
    down.on('error', onEarly);
    const release = () => {
      stats.active--;
      this.sockets.delete(down);
    };
    connectThrough(this.cluster, gone.signal).then(
      (up) => {
        down.off('close', onEarly);
        down.off('error', onEarly);
        if (down.destroyed) {
          up.destroy();
          return release();
        }
        tunnel(down, up, this.config.idleTimeout, (s) => {
          stats.bytesSent += s.sent;
          stats.bytesReceived += s.received;
          release();
        });
        down.resume();
      },
      (e: Error) => {
        stats.failed++;
        this.log.debug(`listener ${this.config.name}: no upstream connection: ${e.message}`);
        down.destroy();
        release();
      },
    );
  }

  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(graceMs: number): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    // Open tunnels get the grace period to finish, then are cut.
    const force = setTimeout(() => this.cut(), graceMs);
    await closed;
    clearTimeout(force);
  }
}
