// What the output binding suites share: a recording HTTP target for bindings.http, and the
// resources of one sidecar with every output binding this project has against real backends
// (Redis 6379 and PostgreSQL 5432 only when they answer: requireService skips loudly, fails in CI).
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireService } from '../../test/services';
import { componentYaml } from './sidecar';

export const PG_DSN = 'host=127.0.0.1 port=5432 user=postgres dbname=test sslmode=disable';

export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A node:http server that records each request; a path with /status/<n> answers n, anything else echoes. */
export class HttpTarget {
  private server?: Server;
  readonly received: Received[] = [];
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        this.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        const status = /\/status\/(\d{3})/.exec(req.url ?? '');
        res.writeHead(status ? Number(status[1]) : 200, { 'content-type': 'application/json', 'x-target': 'yes' });
        res.end(JSON.stringify({ method: req.method, url: req.url, body }));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  last(): Received {
    const r = this.received.at(-1);
    if (!r) throw new Error('the target received nothing');
    return r;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }
}

/** A loopback port nothing listens on. */
export const closedPort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });

export interface BindingSetup {
  resources: Record<string, string>;
  /** bindings.localstorage's rootPath. */
  root: string;
  redis: boolean;
  postgres: boolean;
}

/**
 * web (http → target), down (http → a closed port), files (localstorage), cache (redis) and db
 * (postgresql) when their servers answer.
 */
export async function bindingSetup(target: HttpTarget): Promise<BindingSetup> {
  const root = mkdtempSync(join(tmpdir(), 'compat-bindings-'));
  const [redis, postgres] = [await requireService('redis', '127.0.0.1', 6379), await requireService('postgresql', '127.0.0.1', 5432)];
  const resources: Record<string, string> = {
    'web.yaml': componentYaml('web', 'bindings.http', { url: `http://127.0.0.1:${target.port}/base` }),
    'down.yaml': componentYaml('down', 'bindings.http', { url: `http://127.0.0.1:${await closedPort()}` }),
    'files.yaml': componentYaml('files', 'bindings.localstorage', { rootPath: root }),
  };
  if (redis) resources['cache.yaml'] = componentYaml('cache', 'bindings.redis', { redisHost: 'localhost:6379' });
  if (postgres) resources['db.yaml'] = componentYaml('db', 'bindings.postgres', { connectionString: PG_DSN });
  return { resources, root, redis, postgres };
}
