// Active health checks, as Envoy's: every `interval` each endpoint gets a GET on `path` (healthy
// when the status is expected, default 200-399) or a bare TCP connect, bounded by `timeout`. The
// first check runs at once and its answer is the verdict; after that an endpoint goes down after
// `unhealthyThreshold` failures in a row and comes back after `healthyThreshold` successes. Timers
// are unref'd: health checks never keep the process alive, and close() stops them.
import http from 'node:http';
import net from 'node:net';
import type { HealthCheckConfig } from '../config';
import type { Health, Member } from './endpoint';

type Done = (ok: boolean, why: string) => void;

const USER_AGENT = 'layotto-ts-health-check';

class Probe {
  timer?: NodeJS.Timeout;
  inflight?: { destroy(): void };
  successes = 0;
  failures = 0;
  constructor(readonly member: Member) {}
}

export class HealthChecker {
  private readonly probes: Probe[];
  private closed = false;

  constructor(
    private readonly cfg: HealthCheckConfig,
    /** Sent as Host (Envoy sends the cluster name). */
    private readonly clusterName: string,
    members: readonly Member[],
    private readonly onChange: (m: Member, health: Health, why: string) => void,
  ) {
    this.probes = members.map((m) => new Probe(m));
  }

  start(): void {
    for (const p of this.probes) this.schedule(p, 0);
  }

  close(): void {
    this.closed = true;
    for (const p of this.probes) {
      clearTimeout(p.timer);
      p.inflight?.destroy();
      p.inflight = undefined;
    }
  }

  private schedule(p: Probe, delay: number): void {
    if (this.closed) return;
    p.timer = setTimeout(() => this.run(p), delay);
    p.timer.unref();
  }

  private run(p: Probe): void {
    let settled = false;
    const done: Done = (ok, why) => {
      if (settled) return;
      settled = true;
      clearTimeout(limit);
      p.inflight?.destroy();
      p.inflight = undefined;
      if (this.closed) return;
      this.verdict(p, ok, why);
      this.schedule(p, this.cfg.interval);
    };
    const limit = setTimeout(() => done(false, `timed out after ${this.cfg.timeout}ms`), this.cfg.timeout);
    limit.unref();
    p.inflight = this.cfg.protocol === 'tcp' ? this.tcp(p.member, done) : this.http(p.member, done);
  }

  private verdict(p: Probe, ok: boolean, why: string): void {
    const m = p.member;
    if (ok) {
      p.failures = 0;
      p.successes++;
    } else {
      p.successes = 0;
      p.failures++;
    }
    let next: Health = m.health;
    if (m.health === 'unchecked') next = ok ? 'healthy' : 'unhealthy';
    else if (m.health === 'healthy' && p.failures >= this.cfg.unhealthyThreshold) next = 'unhealthy';
    else if (m.health === 'unhealthy' && p.successes >= this.cfg.healthyThreshold) next = 'healthy';
    if (next !== m.health) this.onChange(m, next, why);
  }

  private expected(status: number): boolean {
    const list = this.cfg.expectedStatuses;
    return list && list.length > 0 ? list.includes(status) : status >= 200 && status <= 399;
  }

  private http(m: Member, done: Done): { destroy(): void } {
    const req = http.request({
      host: m.host,
      port: m.port,
      method: 'GET',
      path: this.cfg.path,
      agent: false,
      headers: { host: this.clusterName, 'user-agent': USER_AGENT, connection: 'close' },
    });
    req.on('response', (res) => {
      // The verdict waits for the body, so the connection is not cut while the endpoint still writes.
      const status = res.statusCode ?? 0;
      res.on('end', () => done(this.expected(status), `health check answered ${status}`));
      res.resume();
    });
    req.on('error', (e) => done(false, `health check failed: ${e.message}`));
    req.end();
    return req;
  }

  private tcp(m: Member, done: Done): { destroy(): void } {
    const socket = net.connect({ host: m.host, port: m.port });
    socket.on('connect', () => done(true, 'connected'));
    socket.on('error', (e) => done(false, `health check failed: ${e.message}`));
    return socket;
  }
}
