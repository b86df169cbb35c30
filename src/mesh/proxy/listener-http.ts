// An http listener: one port for HTTP/1.1 and h2c with prior knowledge (gRPC included). A plain
// net.Server looks at the first bytes of each connection: the HTTP/2 connection preface hands the
// socket to a node:http2 server, anything else to a node:http server (neither listens itself).
// With forwardProxy it also takes CONNECT: a tunnel to the cluster that the target host routes to,
// refused with 403 when no route takes it (never an open proxy).
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createH2Server, type Http2Server, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ListenerConfig } from './config';
import { H1Downstream, H2Downstream } from './downstream';
import { H1Connection, type H1ConnectionHost } from './http1-connection';
import { H2_SETTINGS, H2_WINDOW } from './forward-h2';
import { connectThrough, tunnel } from './forward-tcp';
import { listen, type ProxyListener } from './listener';
import { FORBIDDEN_TARGET, type ProxyReply, replyFor } from './local-reply';
import type { HttpFlow } from './request-flow';
import { hostOf } from './router';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/** The first bytes of a connection are (the start of) the HTTP/2 preface. */
export function isH2Preface(chunk: Buffer): boolean {
  const n = Math.min(chunk.length, PREFACE.length);
  return n > 0 && chunk.compare(PREFACE, 0, n, 0, n) === 0;
}

/** A raw HTTP/1.1 answer on a socket that node:http no longer manages (CONNECT). */
function rawReply(socket: Socket, r: ProxyReply): void {
  const body = Buffer.from(r.http.body);
  socket.end(`HTTP/1.1 ${r.http.status} ${r.http.status === 403 ? 'Forbidden' : r.http.status === 504 ? 'Gateway Timeout' : 'Service Unavailable'}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${r.http.body}`);
}

export class HttpListener implements ProxyListener {
  readonly stats: HttpFlow['stats'] & { connections: number; tunnels: number };
  port = 0;
  private readonly server: Server;
  private readonly h1: HttpServer;
  private readonly h2: Http2Server;
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<Http2Session>();
  private readonly raw = new Set<H1Connection>();
  private readonly rawHost: H1ConnectionHost = {
    handle: (down) => this.flow.handle(down),
    fallback: (socket, rest) => {
      socket.pause();
      socket.unshift(rest);
      this.h1.emit('connection', socket);
      socket.resume();
    },
    release: (conn) => this.raw.delete(conn),
  };

  constructor(
    public config: ListenerConfig,
    private flow: HttpFlow,
    private readonly log: Logger,
  ) {
    this.stats = Object.assign(flow.stats, { connections: 0, tunnels: 0 });
    this.h1 = createHttpServer({ requestTimeout: 0, keepAliveTimeout: config.idleTimeout, noDelay: true }, (req, res) => this.onRequest(req, res));
    this.h1.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => this.onConnect(req, socket, head));
    this.h1.on('clientError', (_e, socket: Socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy();
    });
    this.h2 = createH2Server({ settings: H2_SETTINGS });
    this.h2.on('session', (s: Http2Session) => this.onSession(s));
    this.h2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => {
      if (headers[':method'] === 'CONNECT') return void stream.respond({ ':status': 405 }, { endStream: true });
      this.flow.handle(new H2Downstream(stream, headers, flags));
    });
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  /**
   * Routes, filters and options of an update (same name, address and protocol): requests that
   * arrive from now on take `flow` (built on this listener's stats); those in flight finish on
   * the one they started with. The socket and its connections stay.
   */
  reconfigure(config: ListenerConfig, flow: HttpFlow): void {
    this.config = config;
    this.flow = flow;
    this.h1.keepAliveTimeout = config.idleTimeout;
  }

  async start(): Promise<void> {
    this.port = await listen(this.server, this.config);
    // node:http starts its connection tracking (idle reaping, header timeouts) on 'listening'.
    this.h1.emit('listening');
  }

  private accept(socket: Socket): void {
    this.stats.connections++;
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(this.config.idleTimeout, () => {
      // Only a connection that never sent a byte times out here; the servers take over after that.
      if (socket.bytesRead === 0) socket.destroy();
    });
    socket.once('data', (chunk: Buffer) => {
      socket.setTimeout(0);
      if (isH2Preface(chunk)) {
        socket.pause();
        socket.unshift(chunk);
        // The session reads what is buffered itself; resuming here would drop it.
        this.h2.emit('connection', socket);
      } else {
        const conn = new H1Connection(socket, this.rawHost, this.config.idleTimeout);
        this.raw.add(conn);
        conn.start(chunk);
      }
    });
  }

  private onSession(s: Http2Session): void {
    this.sessions.add(s);
    s.once('close', () => this.sessions.delete(s));
    s.once('connect', () => s.setLocalWindowSize(H2_WINDOW));
    // Idle sessions are closed (gracefully: open streams finish).
    s.setTimeout(this.config.idleTimeout, () => s.close());
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url!;
    // Absolute-form (a client using this listener as its HTTP_PROXY): route by the target's host, forward in origin-form.
    if (url.charCodeAt(0) !== 47 /* / */ && /^http:\/\//i.test(url)) {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        return void res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request target');
      }
      return this.flow.handle(new H1Downstream(req, res, { authority: target.host, path: target.pathname + target.search }), true);
    }
    this.flow.handle(new H1Downstream(req, res));
  }

  private onConnect(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const target = req.url ?? '';
    if (!this.config.forwardProxy) return void socket.end('HTTP/1.1 405 Method Not Allowed\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    const route = this.flow.router.match({ host: hostOf(target), path: '/', method: 'CONNECT', headers: req.headers, grpc: false });
    const entry = route && this.flow.targets[route.index]!.entry;
    if (!route || !entry || entry.app) return rawReply(socket, FORBIDDEN_TARGET(target));
    this.stats.tunnels++;
    const gone = new AbortController();
    const onGone = () => gone.abort(new Error('the client went away'));
    socket.once('close', onGone);
    connectThrough(entry.cluster, gone.signal).then(
      (up) => {
        socket.off('close', onGone);
        if (socket.destroyed) return void up.destroy();
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) up.write(head);
        tunnel(socket, up, this.config.idleTimeout, () => undefined);
      },
      (e: unknown) => {
        this.log.debug(`listener ${this.config.name}: CONNECT ${target}: ${(e as Error).message}`);
        if (!socket.destroyed) rawReply(socket, replyFor(e));
      },
    );
  }

  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(graceMs: number): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.h1.close();
    for (const s of this.sessions) s.close();
    // Connections busy when closing started turn idle later: close them as they do.
    const reap = setInterval(() => this.h1.closeIdleConnections(), 50);
    for (const c of this.raw) c.closeIdle();
    const force = setTimeout(() => this.cut(), graceMs);
    await closed;
    clearInterval(reap);
    clearTimeout(force);
  }
}
