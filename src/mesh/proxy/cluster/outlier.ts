// Outlier detection, as Envoy's consecutive-error detectors: an endpoint that answers
// `consecutive5xx` 5xx in a row (no answer at all counts too: a reset, a timeout, a refused
// connection), `consecutiveGatewayErrors` 502/503/504 in a row, or fails to connect
// `consecutiveConnectFailures` times is ejected for baseEjectionTime × the times it was ejected
// (capped at 300 s or the base time if longer); the multiplier drops by one for every `interval`
// it then stays in. At most maxEjectionPercent of the endpoints are ejected at once, and never the
// last one that can still take traffic. Returns are timed, so pick() only reads a flag.
import type { OutlierConfig } from '../config';
import type { Member } from './endpoint';
import type { Outcome } from './outcome';

/** Envoy's default max_ejection_time. */
const MAX_EJECTION_MS = 300_000;

export interface OutlierEvents {
  ejected(m: Member, ms: number, why: string): void;
  restored(m: Member): void;
}

export class OutlierDetector {
  private ejectedCount = 0;

  constructor(
    private readonly cfg: OutlierConfig,
    private readonly members: readonly Member[],
    private readonly events: OutlierEvents,
  ) {}

  record(m: Member, o: Outcome): void {
    switch (o) {
      case 'ok':
        m.consecutive5xx = m.consecutiveGateway = m.consecutiveConnect = 0;
        return;
      case '5xx':
        m.consecutive5xx++;
        m.consecutiveGateway = m.consecutiveConnect = 0;
        break;
      case 'connect-failure':
        m.consecutive5xx++;
        m.consecutiveGateway++;
        m.consecutiveConnect++;
        break;
      default: // a gateway status, a reset or a timeout: the connection was there
        m.consecutive5xx++;
        m.consecutiveGateway++;
        m.consecutiveConnect = 0;
    }
    if (m.ejected) return;
    const why = this.reason(m);
    if (why) this.eject(m, why);
  }

  /** `m` left the cluster (EDS): its ejection no longer counts against maxEjectionPercent. */
  forget(m: Member): void {
    if (!m.ejected) return;
    clearTimeout(m.ejectTimer);
    m.ejectTimer = undefined;
    this.ejectedCount--;
  }

  close(): void {
    for (const m of this.members) clearTimeout(m.ejectTimer);
  }

  private reason(m: Member): string | undefined {
    const c = this.cfg;
    if (m.consecutiveConnect >= c.consecutiveConnectFailures) return `${m.consecutiveConnect} consecutive connect failures`;
    if (c.consecutiveGatewayErrors !== undefined && m.consecutiveGateway >= c.consecutiveGatewayErrors) return `${m.consecutiveGateway} consecutive gateway errors`;
    if (m.consecutive5xx >= c.consecutive5xx) return `${m.consecutive5xx} consecutive 5xx`;
    return undefined;
  }

  private eject(m: Member, why: string): void {
    const n = this.members.length;
    if ((this.ejectedCount + 1) * 100 > this.cfg.maxEjectionPercent * n) return;
    if (!this.members.some((o) => o !== m && o.available)) return; // the last one standing stays
    const now = Date.now();
    if (m.unejectedAt > 0 && this.cfg.interval > 0) m.ejections = Math.max(0, m.ejections - Math.floor((now - m.unejectedAt) / this.cfg.interval));
    m.ejections++;
    const base = this.cfg.baseEjectionTime;
    const ms = Math.min(base * m.ejections, Math.max(MAX_EJECTION_MS, base));
    m.ejected = true;
    m.ejectedUntil = now + ms;
    m.refresh();
    this.ejectedCount++;
    m.ejectTimer = setTimeout(() => this.restore(m), ms);
    m.ejectTimer.unref();
    this.events.ejected(m, ms, why);
  }

  private restore(m: Member): void {
    m.ejectTimer = undefined;
    m.ejected = false;
    m.ejectedUntil = 0;
    m.consecutive5xx = m.consecutiveGateway = m.consecutiveConnect = 0;
    m.unejectedAt = Date.now();
    m.refresh();
    this.ejectedCount--;
    this.events.restored(m);
  }
}
