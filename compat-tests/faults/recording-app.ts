// The app behind a sidecar in the fault suites: a plain node:http server that declares its topic
// subscriptions (GET /dapr/subscribe), answers the input bindings' OPTIONS probe, and records every
// event it is handed (POST /<route>: a CloudEvent's data, or a binding's raw body) by route. It can
// crash, i.e. close its port and cut every open request, and come back on the same port.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface AppSubscription {
  pubsubname: string;
  topic: string;
  /** Path without the leading slash; also the key events are recorded under. */
  route: string;
  metadata?: Record<string, string>;
}

export class RecordingApp {
  port = 0;
  /** Every event body (as text) per route, duplicates included, in arrival order. */
  readonly events = new Map<string, string[]>();
  /** The distinct bodies per route (kept as they arrive: checks over thousands stay cheap). */
  private readonly distinct = new Map<string, Set<string>>();
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly subscriptions: AppSubscription[] = []) {}

  /** What reached `route` so far. */
  got(route: string): string[] {
    return this.events.get(route) ?? [];
  }

  /** The distinct bodies that reached `route` so far. */
  unique(route: string): ReadonlySet<string> {
    return this.distinct.get(route) ?? new Set();
  }

  async start(port = this.port): Promise<this> {
    const server = createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 60_000;
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
    return this;
  }

  /** The app dies: its port closes and every request in flight is cut without an answer. */
  async crash(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const sock of this.sockets) sock.destroy();
    this.sockets.clear();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  stop(): Promise<void> {
    return this.crash();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const route = (req.url ?? '/').split('?')[0]!.slice(1);
    if (req.method === 'GET' && route === 'dapr/subscribe') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.subscriptions));
    if (req.method === 'GET' && route === 'dapr/config') return void res.writeHead(404).end();
    // The input binding probe at startup: any answer but 404/405 means the app takes the binding.
    if (req.method === 'OPTIONS') return void res.writeHead(200).end();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const isCloudEvent = (req.headers['content-type'] ?? '').includes('cloudevents');
      const body = isCloudEvent ? String((JSON.parse(text) as { data?: unknown }).data) : text;
      const list = this.events.get(route) ?? [];
      list.push(body);
      this.events.set(route, list);
      const seen = this.distinct.get(route) ?? new Set<string>();
      seen.add(body);
      this.distinct.set(route, seen);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"SUCCESS"}');
    });
  }
}
