// A bounded soak over loopback, shared by compat-tests/soak/soak.test.ts (short) and bench/soak.mjs
// (long): sidecar A (state.redis + pubsub.redis on a real Redis, a declarative subscription to its
// own app) and sidecar B (an echo app), loaded at a fixed rate with a cap on requests in flight:
// state save, state get, publish (every event must reach A's app) and invoke A -> B. Every few
// seconds both sidecars' metrics endpoints are read (prom-client's default process and event-loop
// metrics). Nothing leaves 127.0.0.1; every loop stops on its own.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { componentYaml, type Sidecar, startSidecar, waitHealthy } from '../helpers/sidecar';

export interface SoakOptions {
  durationMs: number;
  /** Operations per second, spread evenly over the four kinds. */
  rate: number;
  /** Requests in flight at most; a due request past it is skipped (counted, not an error). */
  maxInFlight: number;
  sampleMs: number;
  redisPort?: number;
  /** Called with each sample as it is taken (the bench prints them). */
  onSample?: (s: Sample) => void;
}

export interface Sample {
  /** Seconds since the load started. */
  t: number;
  rssMbA: number;
  rssMbB: number;
  heapMbA: number;
  /** prom-client's p99 of event-loop delay since the previous scrape, in ms. */
  lagP99MsA: number;
  lagP99MsB: number;
  /** Operations completed since the previous sample, per second. */
  opsPerSec: number;
}

export const KINDS = ['state-save', 'state-get', 'publish', 'invoke'] as const;
export type Kind = (typeof KINDS)[number];

export interface SoakResult {
  done: Record<Kind, number>;
  errors: string[];
  skipped: number;
  published: number;
  delivered: number;
  samples: Sample[];
}

const APP_A = 'soak-a';
const APP_B = 'soak-b';
const STORE = 'statestore';
const PUBSUB = 'pubsub';

/** An app that counts the events delivered to it (by seq) and echoes invocations. */
class SoakApp {
  readonly delivered = new Set<number>();
  duplicates = 0;
  private server?: Server;
  port = 0;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.url === '/events') {
          const seq = (JSON.parse(body.toString()) as { data?: { seq?: number } }).data?.seq;
          if (typeof seq === 'number') {
            if (this.delivered.has(seq)) this.duplicates++;
            this.delivered.add(seq);
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"SUCCESS"}');
          return;
        }
        if (req.url === '/dapr/subscribe' || req.url === '/dapr/config') {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

export interface SoakEnv {
  a: Sidecar;
  b: Sidecar;
  appA: SoakApp;
  appB: SoakApp;
  topic: string;
  redis: Redis;
  stop: () => Promise<void>;
}

export async function startSoakEnv(redisPort = 6379, logLevel = 'warn'): Promise<SoakEnv> {
  const topic = `soak-${process.pid}-${Date.now().toString(36)}`;
  const redisHost = `127.0.0.1:${redisPort}`;
  const [appA, appB] = await Promise.all([new SoakApp().start(), new SoakApp().start()]);
  const common = ['--log-level', logLevel];
  const subscription = `apiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata:\n  name: soak\nspec:\n  pubsubname: ${PUBSUB}\n  topic: ${topic}\n  routes:\n    default: /events\n`;
  const a = await startSidecar({
    appId: APP_A,
    wait: false,
    resources: {
      'state.yaml': componentYaml(STORE, 'state.redis', { redisHost }),
      'pubsub.yaml': componentYaml(PUBSUB, 'pubsub.redis', { redisHost, consumerID: topic, maxLenApprox: '10000' }),
      'subscription.yaml': subscription,
    },
    args: ['--app-port', String(appA.port), ...common],
  });
  const b = await startSidecar({ appId: APP_B, wait: false, args: ['--app-port', String(appB.port), ...common] });
  // Startup on a busy shared machine can be slow.
  await Promise.all([waitHealthy(a, 60000), waitHealthy(b, 60000)]);
  const redis = new Redis({ host: '127.0.0.1', port: redisPort, lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  return {
    a,
    b,
    appA,
    appB,
    topic,
    redis,
    stop: async () => {
      await Promise.all([a.stop(), b.stop()]);
      await Promise.all([appA.stop(), appB.stop()]);
      // The run's stream and keys go; nothing else in the shared Redis is touched.
      await redis.del(topic).catch(() => undefined);
      const keys = await redis.keys(`${APP_A}||soak-k*`).catch(() => [] as string[]);
      if (keys.length) await redis.del(...keys).catch(() => undefined);
      redis.disconnect();
    },
  };
}

/** Prometheus text -> the value of one unlabelled sample. */
function metric(text: string, name: string): number {
  const m = new RegExp(`^${name} ([0-9.eE+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

async function scrape(sc: Sidecar): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${sc.metricsPort}/`, { signal: AbortSignal.timeout(5000) });
  return r.text();
}

export async function runSoak(env: SoakEnv, opts: SoakOptions): Promise<SoakResult> {
  const pool = new Pool(`http://127.0.0.1:${env.a.httpPort}`, { connections: opts.maxInFlight, headersTimeout: 10000, bodyTimeout: 10000 });
  const done = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>;
  const errors: string[] = [];
  const samples: Sample[] = [];
  let inFlight = 0;
  let issued = 0;
  let skipped = 0;
  let published = 0;
  let completed = 0;
  const pad = 'x'.repeat(200);

  const request = async (kind: Kind, n: number): Promise<void> => {
    const key = `soak-k${n % 500}`;
    let method: 'GET' | 'POST' = 'POST';
    let path: string;
    let body: string | undefined;
    let ok: number[];
    if (kind === 'state-save') {
      path = `/v1.0/state/${STORE}`;
      body = JSON.stringify([{ key, value: { n, pad } }]);
      ok = [204];
    } else if (kind === 'state-get') {
      method = 'GET';
      path = `/v1.0/state/${STORE}/${key}`;
      ok = [200, 204];
    } else if (kind === 'publish') {
      path = `/v1.0/publish/${PUBSUB}/${env.topic}`;
      body = JSON.stringify({ seq: n, pad });
      ok = [204];
    } else {
      path = `/v1.0/invoke/${APP_B}/method/echo`;
      body = JSON.stringify({ n, pad });
      ok = [200];
    }
    const res = await pool.request({ method, path, body, headers: body ? { 'content-type': 'application/json' } : {} });
    const text = await res.body.text();
    if (!ok.includes(res.statusCode)) throw new Error(`${kind} answered ${res.statusCode}: ${text.slice(0, 200)}`);
    if (kind === 'invoke' && text !== body) throw new Error(`invoke echoed ${text.length} bytes, sent ${body!.length}`);
    if (kind === 'publish') published++;
  };

  const started = Date.now();
  let lastSample = { at: started, completed: 0 };
  const sample = async (): Promise<void> => {
    const [ta, tb] = await Promise.all([scrape(env.a), scrape(env.b)]);
    const now = Date.now();
    const s: Sample = {
      t: Math.round((now - started) / 100) / 10,
      rssMbA: metric(ta, 'process_resident_memory_bytes') / 2 ** 20,
      rssMbB: metric(tb, 'process_resident_memory_bytes') / 2 ** 20,
      heapMbA: metric(ta, 'nodejs_heap_size_used_bytes') / 2 ** 20,
      lagP99MsA: metric(ta, 'nodejs_eventloop_lag_p99_seconds') * 1000,
      lagP99MsB: metric(tb, 'nodejs_eventloop_lag_p99_seconds') * 1000,
      opsPerSec: Math.round(((completed - lastSample.completed) * 1000) / Math.max(1, now - lastSample.at)),
    };
    lastSample = { at: now, completed };
    samples.push(s);
    opts.onSample?.(s);
  };

  // A first scrape resets prom-client's event-loop histograms: the first window starts with the load.
  await Promise.all([scrape(env.a), scrape(env.b)]);
  const sampler = setInterval(() => void sample().catch((e: Error) => errors.push(`metrics: ${e.message}`)), opts.sampleMs);
  const pending = new Set<Promise<void>>();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = Date.now() - started;
      if (elapsed >= opts.durationMs) {
        clearInterval(tick);
        resolve();
        return;
      }
      const due = Math.floor((elapsed / 1000) * opts.rate);
      for (; issued < due; issued++) {
        if (inFlight >= opts.maxInFlight) {
          skipped++;
          continue;
        }
        const kind = KINDS[issued % KINDS.length]!;
        const n = Math.floor(issued / KINDS.length);
        inFlight++;
        const p: Promise<void> = request(kind, n)
          .then(() => {
            done[kind]++;
            completed++;
          })
          .catch((e: Error) => void errors.push(`${kind} #${n}: ${e.message}`))
          .finally(() => {
            inFlight--;
            pending.delete(p);
          });
        pending.add(p);
      }
    }, 5);
  });
  clearInterval(sampler);
  await Promise.all(pending);
  await sample();
  await pool.close();

  // Every published event must reach the app (at-least-once: duplicates allowed, losses not).
  const deadline = Date.now() + 60000;
  while (env.appA.delivered.size < published && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  return { done, errors, skipped, published, delivered: env.appA.delivered.size, samples };
}

/** Mean of `field` over the first and the last third of the samples after warm-up. */
export function thirds(samples: Sample[], field: keyof Sample, warmupS: number): { first: number; last: number } {
  const s = samples.filter((x) => x.t > warmupS).map((x) => x[field]);
  const n = Math.max(1, Math.floor(s.length / 3));
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
  return { first: mean(s.slice(0, n)), last: mean(s.slice(-n)) };
}
