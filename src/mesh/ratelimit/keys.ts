// What a limit is counted per: the client's address, a header's value, the path, the gRPC method,
// or a combination; the mesh proxy reuses these per route.
import type { Exchange } from '../filter';

export type KeyPart = 'client' | 'path' | 'route' | { header: string };

/** Builds the key function for a list of parts; no parts = one key shared by every request. */
export function keyBy(parts: readonly KeyPart[]): (ex: Exchange) => string {
  const getters = parts.map((p): ((ex: Exchange) => string) => {
    if (p === 'client') return (ex) => clientIp(ex);
    if (p === 'path') return (ex) => ex.path;
    if (p === 'route') return (ex) => ex.route;
    const name = p.header.toLowerCase();
    return (ex) => {
      const v = ex.headers[name];
      return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
    };
  });
  if (getters.length === 1) return getters[0]!;
  return (ex) => getters.map((g) => g(ex)).join('|');
}

/**
 * The client's IP in canonical form: IPv4-mapped IPv6 (`::ffff:127.0.0.1`, how Node reports v4 peers
 * on a dual-stack socket) as plain IPv4, and gRPC's `ip:port` / `[ip6]:port` peer strings without the port.
 */
export function clientIp(ex: Pick<Exchange, 'remoteAddress'>): string {
  let a = ex.remoteAddress.replace(/^ipv[46]:/, '');
  const m = /^\[(.+)\](?::\d+)?$/.exec(a) ?? /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(a);
  if (m) a = m[1]!;
  if (a.startsWith('::ffff:') && a.includes('.')) a = a.slice(7);
  return a || '0.0.0.0';
}
