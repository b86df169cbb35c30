// The dashboard's traffic recorder: an observing filter on every API server and mesh proxy listener
// that keeps, per API and route, the request count, a per-second rate over the last RATE_WINDOW_S
// seconds and recent latencies (p50/p99 over the last SAMPLES answers); plus rate-limit refusals
// and a ring of the last error answers (refusals aside). Bounded memory whatever the traffic: routes are templates
// (low cardinality) and are capped anyway.
import type { Exchange, Filter, Verdict } from '../mesh/filter';
import { goCodeName } from '../mesh/filters/metrics';
import { HTTP_RATELIMIT_TYPE } from '../mesh/ratelimit/http-ratelimit';
import { FLOW_CONTROL_TYPE, GRPC_FLOW_CONTROL_TYPE } from '../mesh/ratelimit/flow-control';
import { PROXY_RATELIMIT_TYPE, RATE_LIMITED } from '../mesh/filters/proxy/ratelimit';
import type { ErrorAnswer, Rejection, RouteTraffic, TrafficSnapshot } from './types';

const RATE_WINDOW_S = 10;
const SAMPLES = 512;
const MAX_ROUTES = 500;
const MAX_ERRORS = 50;
/** Exchange attribute naming the filter that answered locally. */
const STOPPED_BY = 'dashboard.stoppedBy';
const RATE_LIMITERS = new Set([HTTP_RATELIMIT_TYPE, FLOW_CONTROL_TYPE, GRPC_FLOW_CONTROL_TYPE, PROXY_RATELIMIT_TYPE]);

class RouteStats {
  count = 0;
  errors = 0;
  /** Requests per whole second, indexed by second modulo the window. */
  private readonly perSecond = new Array<number>(RATE_WINDOW_S).fill(0);
  private readonly secondOf = new Array<number>(RATE_WINDOW_S).fill(-1);
  private readonly latencies = new Float64Array(SAMPLES);
  private filled = 0;
  private next = 0;

  constructor(
    readonly api: string,
    readonly route: string,
  ) {}

  add(ms: number, nowS: number, error: boolean): void {
    this.count++;
    if (error) this.errors++;
    const i = nowS % RATE_WINDOW_S;
    if (this.secondOf[i] !== nowS) {
      this.secondOf[i] = nowS;
      this.perSecond[i] = 0;
    }
    this.perSecond[i]!++;
    this.latencies[this.next] = ms;
    this.next = (this.next + 1) % SAMPLES;
    this.filled = Math.min(this.filled + 1, SAMPLES);
  }

  snapshot(nowS: number): RouteTraffic {
    let recent = 0;
    for (let i = 0; i < RATE_WINDOW_S; i++) if (nowS - this.secondOf[i]! < RATE_WINDOW_S) recent += this.perSecond[i]!;
    const sorted = this.latencies.slice(0, this.filled).sort();
    const at = (q: number) => (sorted.length === 0 ? 0 : round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!));
    return { api: this.api, route: this.route, count: this.count, errors: this.errors, rate: round(recent / RATE_WINDOW_S), p50: at(0.5), p99: at(0.99) };
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

export class TrafficRecorder {
  private readonly routes = new Map<string, RouteStats>();
  private readonly rejections = new Map<string, Rejection>();
  private readonly errors: ErrorAnswer[] = [];

  /** Observes every exchange of the chains it is put first in (its onResponse then runs last). */
  readonly filter: Filter = {
    name: 'dashboard',
    onResponse: (ex) => this.record(ex),
  };

  /**
   * The filter wrapped so the recorder learns when it answers locally (which filter refused a
   * request is not otherwise on the exchange). Other members, close() included, are the filter's own.
   */
  watch(f: Filter): Filter {
    const onRequest = f.onRequest?.bind(f);
    if (!onRequest) return f;
    const mark = (ex: Exchange, v: Verdict): Verdict => {
      if (v) ex.attrs.set(STOPPED_BY, f.name);
      return v;
    };
    const wrapped: Filter = Object.create(f);
    Object.defineProperty(wrapped, 'onRequest', {
      value: (ex: Exchange) => {
        const v = onRequest(ex);
        return v instanceof Promise ? v.then((r) => mark(ex, r)) : mark(ex, v);
      },
    });
    return wrapped;
  }

  snapshot(now = Date.now()): TrafficSnapshot {
    const nowS = Math.floor(now / 1000);
    return {
      routes: [...this.routes.values()].map((r) => r.snapshot(nowS)),
      rejections: [...this.rejections.values()].map((r) => ({ ...r })),
      errors: [...this.errors].reverse(),
    };
  }

  private record(ex: Exchange): void {
    const now = Date.now();
    const ms = Number(process.hrtime.bigint() - ex.startNs) / 1e6;
    const route = (ex.api === 'proxy' ? ex.proxy?.route : ex.route) || '(no route)';
    const status = ex.status ?? (ex.protocol === 'grpc' ? 2 : 0);
    const error = ex.protocol === 'grpc' ? status !== 0 : status >= 400;
    const key = `${ex.api}\n${route}`;
    let stats = this.routes.get(key);
    if (!stats && this.routes.size < MAX_ROUTES) this.routes.set(key, (stats = new RouteStats(ex.api, route)));
    stats?.add(ms, Math.floor(now / 1000), error);
    const stoppedBy = ex.attrs.get(STOPPED_BY) as string | undefined;
    const limiter = stoppedBy && RATE_LIMITERS.has(stoppedBy) ? stoppedBy : ex.errorCode === RATE_LIMITED ? PROXY_RATELIMIT_TYPE : undefined;
    // A refusal is counted in its own panel; the error ring keeps room for other failures.
    if (limiter) return this.reject(ex.api, route, limiter, now);
    if (!error) return;
    this.errors.push({
      time: new Date(now).toISOString(),
      api: ex.api,
      route,
      status: ex.protocol === 'grpc' ? goCodeName(status) : String(status),
      code: ex.errorCode ?? (stoppedBy ? `local reply (${stoppedBy})` : ''),
      message: ex.message ?? '',
    });
    if (this.errors.length > MAX_ERRORS) this.errors.shift();
  }

  private reject(api: string, route: string, filter: string, now: number): void {
    const key = `${api}\n${route}\n${filter}`;
    let r = this.rejections.get(key);
    if (!r) {
      if (this.rejections.size >= MAX_ROUTES) return;
      this.rejections.set(key, (r = { api, route, filter, count: 0, last: '' }));
    }
    r.count++;
    r.last = new Date(now).toISOString();
  }
}
