// Readiness indicators of components with a ping: each probe pings its backend with a short
// timeout, and one result serves every request for cacheMs (shared while in flight), so a scrape
// storm costs the backends one round trip per component per cacheMs.
import type { Health } from './health';

export interface Probe {
  /** Indicator name in the report. */
  name: string;
  ping(): Promise<void>;
}

export interface ProbeOptions {
  timeoutMs: number;
  cacheMs: number;
}

export class CachedProbes {
  private last?: { at: number; result: Record<string, Health> };
  private running?: Promise<Record<string, Health>>;

  constructor(
    private readonly list: () => Probe[],
    private readonly opts: ProbeOptions,
  ) {}

  check(): Promise<Record<string, Health>> {
    if (this.last && Date.now() - this.last.at < this.opts.cacheMs) return Promise.resolve(this.last.result);
    return (this.running ??= this.run().finally(() => (this.running = undefined)));
  }

  private async run(): Promise<Record<string, Health>> {
    const probes = this.list();
    const results = await Promise.all(probes.map((p) => probe(p, this.opts.timeoutMs)));
    const result = Object.fromEntries(probes.map((p, i) => [p.name, results[i]!]));
    this.last = { at: Date.now(), result };
    return result;
  }
}

async function probe(p: Probe, timeoutMs: number): Promise<Health> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`ping timed out after ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
  });
  try {
    // A ping that throws synchronously (not initialized, closed) reports like one that rejects.
    await Promise.race([Promise.resolve().then(() => p.ping()), timeout]);
    return { status: 'UP' };
  } catch (e) {
    return { status: 'DOWN', details: { reason: (e as Error)?.message ?? String(e) } };
  } finally {
    clearTimeout(timer);
  }
}
