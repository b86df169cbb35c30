// The dashboard's HTTP server, on its own port: the page Vite built (dashboard/ → dist/dashboard/web,
// read into memory before the sidecar starts anything, so a missing build stops it at once), GET /api/snapshot (JSON) and GET /api/stream (Server-Sent Events:
// a snapshot every second while anyone listens; one snapshot per tick serves every client).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { extname, join, relative, resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import type { DashboardSnapshot } from './types';

/** The built page, found from src/dashboard (tsx) and dist/dashboard (the binary) alike. */
export const WEB_DIR = resolve(__dirname, '..', '..', 'dist', 'dashboard', 'web');
const PUSH_MS = 1000;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

export interface DashboardOptions {
  port: number;
  host: string;
  snapshot: () => Promise<DashboardSnapshot>;
  log: Logger;
  /** The built page (loadDashboard()). */
  assets: DashboardAssets;
}

export interface Dashboard {
  port: number;
  close(): Promise<void>;
}

interface Asset {
  body: Buffer;
  type: string;
}

export type DashboardAssets = ReadonlyMap<string, Asset>;

/** Every file of the build by URL path; a missing build is a startup error that says what to run. */
export function loadDashboard(dir = WEB_DIR): DashboardAssets {
  let index: Buffer;
  try {
    index = readFileSync(join(dir, 'index.html'));
  } catch {
    throw new Error(`dashboard: the web page is not built (${join(dir, 'index.html')} is missing): run "npm run build"`);
  }
  const assets = new Map<string, Asset>([['/', { body: index, type: TYPES['.html']! }]]);
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const file = join(d, name);
      if (statSync(file).isDirectory()) walk(file);
      else assets.set(`/${relative(dir, file).split(sep).join('/')}`, { body: readFileSync(file), type: TYPES[extname(name)] ?? 'application/octet-stream' });
    }
  };
  walk(dir);
  return assets;
}

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const assets = opts.assets;
  const clients = new Set<ServerResponse>();
  let timer: NodeJS.Timeout | undefined;

  const push = async () => {
    let data: string;
    try {
      data = JSON.stringify(await opts.snapshot());
    } catch (e) {
      opts.log.warn(`dashboard: snapshot failed: ${(e as Error).message}`);
      return;
    }
    for (const res of clients) res.write(`data: ${data}\n\n`);
  };
  const subscribe = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write(`retry: ${PUSH_MS}\n\n`);
    clients.add(res);
    timer ??= setInterval(() => void push(), PUSH_MS);
    void push();
    req.once('close', () => {
      clients.delete(res);
      if (clients.size === 0 && timer) {
        clearInterval(timer);
        timer = undefined;
      }
    });
  };
  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer) => {
    res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
    res.end(body);
  };

  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n');
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/api/stream') return subscribe(req, res);
    if (path === '/api/snapshot') {
      return void opts.snapshot().then(
        (s) => send(res, 200, 'application/json', JSON.stringify(s)),
        (e: Error) => send(res, 500, 'application/json', JSON.stringify({ error: e.message })),
      );
    }
    const asset = assets.get(path);
    if (asset) return send(res, 200, asset.type, asset.body);
    send(res, 404, 'text/plain', 'not found\n');
  });
  await new Promise<void>((res, rej) => {
    server.once('error', (e) => rej(new Error(`dashboard: cannot listen on ${opts.host}:${opts.port}: ${e.message}`)));
    server.listen(opts.port, opts.host, () => res());
  });
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((r) => {
        if (timer) clearInterval(timer);
        for (const c of clients) c.end();
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
