// "host:port" as the resolvers store and return addresses (IPv6 hosts in brackets, as Go's
// net.JoinHostPort writes them).
import type { ResolvedAddress } from '../../core/invoke/types';

export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function splitHostPort(address: string): ResolvedAddress {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(address);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`invalid address ${JSON.stringify(address)}: expected host:port`);
  return { host: m[1] ?? m[2]!, port };
}

/** Spreads picks over the instances of each app id: the nth pick for a key takes list[n % length]. */
export class RoundRobin {
  private readonly turns = new Map<string, number>();

  pick<T>(key: string, list: readonly T[]): T {
    const n = this.turns.get(key) ?? 0;
    this.turns.set(key, (n + 1) % 1_000_000);
    return list[n % list.length]!;
  }
}
