// What the output binding suites share: a recording HTTP target for bindings.http, and the
// resources of one sidecar with every output binding this project has against real backends
// (Redis 6379 and PostgreSQL 5432 only when they answer: requireService skips loudly, fails in CI).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireService } from '../../test/services';
import { PlainApp } from './invoke';
import { componentYaml, freePort } from './sidecar';

export const PG_DSN = 'host=127.0.0.1 port=5432 user=postgres dbname=test sslmode=disable';

/** The bindings.http target: a PlainApp echoing {method, url, body}; a path with /status/<n> answers n. */
export function httpTarget(): PlainApp {
  const app = new PlainApp();
  app.script = (seen, res) => {
    const status = /\/status\/(\d{3})/.exec(seen.url);
    res.writeHead(status ? Number(status[1]) : 200, { 'content-type': 'application/json', 'x-target': 'yes' });
    res.end(JSON.stringify({ method: seen.method, url: seen.url, body: seen.text }));
  };
  return app;
}

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
export async function bindingSetup(target: PlainApp): Promise<BindingSetup> {
  const root = mkdtempSync(join(tmpdir(), 'compat-bindings-'));
  const [redis, postgres] = [await requireService('redis', '127.0.0.1', 6379), await requireService('postgresql', '127.0.0.1', 5432)];
  const resources: Record<string, string> = {
    'web.yaml': componentYaml('web', 'bindings.http', { url: `http://127.0.0.1:${target.port}/base` }),
    'down.yaml': componentYaml('down', 'bindings.http', { url: `http://127.0.0.1:${await freePort()}` }),
    'files.yaml': componentYaml('files', 'bindings.localstorage', { rootPath: root }),
  };
  if (redis) resources['cache.yaml'] = componentYaml('cache', 'bindings.redis', { redisHost: 'localhost:6379' });
  if (postgres) resources['db.yaml'] = componentYaml('db', 'bindings.postgres', { connectionString: PG_DSN });
  return { resources, root, redis, postgres };
}
