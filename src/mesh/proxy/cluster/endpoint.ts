// One endpoint of a cluster with everything the cluster keeps about it: counters, health verdict,
// ejection, and the balancer's running weight. `available` is the one flag pick() reads, updated
// only when health or ejection changes, so a pick never looks at clocks.
import type { Endpoint } from './types';

export type Health = 'healthy' | 'unhealthy' | 'unchecked';

export class Member implements Endpoint {
  readonly address: string;
  active = 0;
  requests = 0;
  failures = 0;
  /** Active health check verdict; 'unchecked' (and usable) until the first check answers. */
  health: Health = 'unchecked';
  /** Ejected by outlier detection until `ejectedUntil` (epoch ms, for the snapshot). */
  ejected = false;
  ejectedUntil = 0;
  /** Healthy and not ejected: pick() may choose it. */
  available = true;
  /** Smooth weighted round robin's running weight. */
  current = 0;
  /** Outlier detection: failures in a row by kind, times ejected (the ejection time multiplier). */
  consecutive5xx = 0;
  consecutiveGateway = 0;
  consecutiveConnect = 0;
  ejections = 0;
  unejectedAt = 0;
  ejectTimer?: NodeJS.Timeout;

  constructor(
    readonly host: string,
    readonly port: number,
    readonly weight: number,
  ) {
    this.address = formatAddress(host, port);
  }

  refresh(): void {
    this.available = this.health !== 'unhealthy' && !this.ejected;
  }
}

export const formatAddress = (host: string, port: number): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);
