// A TCP proxy a test controls, in front of a real server on loopback, to make the server "go away"
// for one sidecar without touching the server others share:
// - cut(): every proxied connection is destroyed (both ends see a reset) and the port refuses new
//   ones, as when the server dies or the host is unreachable;
// - stall(): connections stay open but nothing moves either way, and new ones are accepted and
//   then starve, as a network partition looks (no RST, no FIN): what bounds a client's wait;
// - restore(): forwarding resumes on the same port; stalled connections are destroyed first (their
//   byte streams are no longer in step with the server's).
import { createServer, type Server, Socket } from 'node:net';

type Mode = 'open' | 'cut' | 'stalled';

export class TcpCut {
  private mode: Mode = 'open';
  private server?: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  /** Connections accepted (forwarded or starved) since start. */
  accepted = 0;

  private constructor(
    private listenPort: number,
    private readonly target: { host: string; port: number },
  ) {}

  /** The proxy's port (fixed after start: cut() and restore() keep it). */
  get port(): number {
    return this.listenPort;
  }

  /** Listens on a free loopback port (or `port`) and forwards to target. */
  static async start(target: { host?: string; port: number }, port = 0): Promise<TcpCut> {
    const p = new TcpCut(port, { host: target.host ?? '127.0.0.1', port: target.port });
    await p.listen(port);
    return p;
  }

  /** host:port of the proxy, for a component's metadata. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get state(): Mode {
    return this.mode;
  }

  /** How many connections are open through the proxy now. */
  get open(): number {
    return this.pairs.size;
  }

  /** Destroys every connection and refuses new ones (the listener closes: connect gets ECONNREFUSED). */
  async cut(): Promise<void> {
    this.mode = 'cut';
    this.destroyAll();
    await this.unlisten();
  }

  /** Freezes every connection and accepts new ones without forwarding anything. */
  async stall(): Promise<void> {
    if (!this.server) await this.listen(this.port);
    this.mode = 'stalled';
    for (const [a, b] of this.pairs) {
      a.unpipe();
      b.unpipe();
      a.pause();
      b.pause();
    }
  }

  /** Forwards again on the same port. */
  async restore(): Promise<void> {
    if (this.mode === 'stalled') this.destroyAll();
    this.mode = 'open';
    if (!this.server) await this.listen(this.port);
  }

  async close(): Promise<void> {
    this.mode = 'cut';
    this.destroyAll();
    await this.unlisten();
  }

  private listen(port: number): Promise<void> {
    const server = createServer({ noDelay: true }, (client) => this.accept(client));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        this.listenPort = (server.address() as { port: number }).port;
        resolve();
      });
    });
  }

  private unlisten(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    return new Promise((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }

  private accept(client: Socket): void {
    this.accepted++;
    client.on('error', () => undefined);
    const upstream = new Socket();
    upstream.on('error', () => undefined);
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    const drop = () => {
      if (!this.pairs.delete(pair)) return;
      client.destroy();
      upstream.destroy();
    };
    client.once('close', drop);
    upstream.once('close', drop);
    if (this.mode !== 'open') {
      // Stalled: accepted, never answered.
      client.pause();
      return;
    }
    upstream.setNoDelay(true);
    upstream.connect(this.target.port, this.target.host, () => {
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  private destroyAll(): void {
    for (const [a, b] of this.pairs) {
      // resetAndDestroy sends RST where it can, as a dead peer's kernel would.
      a.resetAndDestroy();
      b.destroy();
    }
    this.pairs.clear();
  }
}
