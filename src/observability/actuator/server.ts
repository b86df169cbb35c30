// Layotto's actuator (pkg/filter/stream/common/http dispatch + pkg/actuator endpoints) on its own
// HTTP port: /actuator/{endpoint}/{params...}; the first segment must be "actuator" and the
// endpoint known, else 404 with an empty body. Every answer is application/json.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { statSync } from 'node:fs';
import type { Logger } from 'pino';
import { z } from 'zod';
import { RUNTIME_LEVELS, scoped, setLogLevel } from '../logger';
import { aggregate, type Health, startupHealth } from './health';
import { CachedProbes, type Probe } from './probes';

// The actuator is Layotto's protocol, not a Dapr API, so its few statuses live here rather than in
// errors/codes.ts. Layotto's dispatcher answers 404 for unknown paths and 500 for any endpoint
// error; for a probe that is not UP its docs show 503 (their contract: 200 is healthy, anything
// above 400 is not). 503 is chosen for health: it says "temporarily unavailable", which is what
// DOWN/INIT mean, and probes (kubelet, load balancers) treat 500 and 503 alike.
const STATUS = { ok: 200, notFound: 404, endpointError: 500, notUp: 503 } as const;
const MAX_BODY = 64 * 1024;

export interface ActuatorOptions {
  port: number;
  host: string;
  /** Reported by /actuator/info. */
  name: string;
  version: string;
  /** Any logger of the family whose scopes POST /actuator/logger changes (createLogger's). */
  log: Logger;
  /** Liveness `runtime_startup`: the API servers are up. */
  isLive: () => boolean;
  /** Readiness `runtime_startup`: the runtime finished starting (daprd's healthz 204). */
  isReady: () => boolean;
  probes: () => Probe[];
  /** GET /actuator/proxy: the mesh proxy's snapshot; 404 while there is none. */
  proxy?: () => unknown;
  /** GET /actuator/xds: the xDS connection, versions and nonces per type, the last NACK; 404 without --xds-server. */
  xds?: () => unknown;
  /** Per-ping deadline (default 1 s) and how long one readiness result is reused (default 1 s). */
  pingTimeoutMs?: number;
  cacheMs?: number;
}

export interface Actuator {
  port: number;
  /** runtime_startup turns DOWN with this reason (shutting down, failed start). */
  down(reason: string): void;
  close(): Promise<void>;
}

interface Answer {
  status: number;
  body?: unknown;
}
type Endpoint = (params: string[], req: IncomingMessage) => Promise<Answer>;

const loggerRequest = z.object({
  component: z.string().default(''),
  level: z.string().transform((l) => l.toLowerCase()).pipe(z.enum(RUNTIME_LEVELS, { error: `level must be one of ${RUNTIME_LEVELS.join(', ')}` })),
});

const found = (body: unknown): Answer => (body === undefined ? { status: STATUS.notFound } : { status: STATUS.ok, body });

export async function startActuator(opts: ActuatorOptions): Promise<Actuator> {
  let downReason: string | undefined;
  const probes = new CachedProbes(opts.probes, { timeoutMs: opts.pingTimeoutMs ?? 1000, cacheMs: opts.cacheMs ?? 1000 });
  const compiled = compiledAt();
  const actuatorLog = scoped(opts.log, 'dapr.runtime.actuator');

  const report = (components: Record<string, Health>): Answer => {
    const r = aggregate(components);
    return { status: r.status === 'UP' ? STATUS.ok : STATUS.notUp, body: r };
  };
  const endpoints: Record<string, Endpoint> = {
    health: async ([type]) => {
      if (type === 'liveness') return report({ runtime_startup: startupHealth(opts.isLive(), downReason) });
      if (type === 'readiness') return report({ runtime_startup: startupHealth(opts.isReady(), downReason), ...(await probes.check()) });
      return { status: STATUS.endpointError, body: { error: 'health type invalid' } };
    },
    info: async () => ({ status: STATUS.ok, body: { app: { name: opts.name, version: opts.version, compiled } } }),
    proxy: async () => found(opts.proxy?.()),
    xds: async () => found(opts.xds?.()),
    logger: async (_params, req) => {
      let parsed;
      try {
        parsed = loggerRequest.safeParse(JSON.parse(await readBody(req)));
      } catch (e) {
        return { status: STATUS.endpointError, body: { error: `invalid request body: ${(e as Error).message}` } };
      }
      if (!parsed.success) return { status: STATUS.endpointError, body: { error: parsed.error.issues.map((i) => i.message).join('; ') } };
      const { component, level } = parsed.data;
      const n = setLogLevel(opts.log, component, level);
      actuatorLog.info(`log level of ${component || 'every scope'} set to ${level} (${n} logger(s))`);
      return { status: STATUS.ok, body: {} };
    },
  };

  const server: Server = createServer((req, res) => {
    const [first, name, ...params] = new URL(req.url ?? '/', 'http://x').pathname.split('/').filter(Boolean);
    const endpoint = first === 'actuator' && name !== undefined && Object.hasOwn(endpoints, name) ? endpoints[name]! : undefined;
    const answer = endpoint ? endpoint(params, req) : Promise.resolve<Answer>({ status: STATUS.notFound });
    void answer
      .catch((e: Error): Answer => ({ status: STATUS.endpointError, body: { error: e.message } }))
      .then(({ status, body }) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(body === undefined ? undefined : JSON.stringify(body));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`actuator: cannot listen on ${opts.host}:${opts.port}: ${e.message}`)));
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    down: (reason) => (downReason ??= reason),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error(`body larger than ${MAX_BODY} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** When this build was made: the compiled file's modification time (RFC 3339), as Layotto's build stamp. */
function compiledAt(): string {
  try {
    return statSync(__filename).mtime.toISOString();
  } catch {
    return '';
  }
}
