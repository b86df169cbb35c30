// What every translation step shares: the decoded-message shape, the error that becomes a NACK,
// the warnings that are logged, and Envoy's well-known value types (Duration, UInt32Value,
// FractionalPercent, SocketAddress) as plain numbers and strings.

/** A decoded Envoy message (protos.ts: snake_case, set fields only, enums by name, Any as {"@type", ...}). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Pb = { [field: string]: any };

/** A resource the proxy cannot apply: the NACK's error_detail says why, the last good config keeps serving. */
export class XdsRejection extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XdsRejection';
  }
}

/** Things left out or approximated, logged as warnings (never silently dropped). */
export type Warn = (message: string) => void;

export const reject = (where: string, what: string): never => {
  throw new XdsRejection(`${where}: ${what}`);
};

/** google.protobuf.Duration as milliseconds (undefined when unset). */
export function ms(d: Pb | undefined): number | undefined {
  if (d === undefined || d === null) return undefined;
  return Number(d.seconds ?? 0) * 1000 + Math.round(Number(d.nanos ?? 0) / 1e6);
}

/** A wrapper (UInt32Value, BoolValue...) as its value (undefined when unset). */
export const wrapped = <T>(w: { value?: T } | undefined, unset?: T): T | undefined => (w === undefined || w === null ? unset : (w.value ?? unset));

/** A FractionalPercent / RuntimeFractionalPercent's default as a percentage. */
export function percent(f: Pb | undefined): number | undefined {
  const v = f?.default_value ?? f;
  if (!v) return undefined;
  const per = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 }[(v.denominator as string) ?? 'HUNDRED'] ?? 100;
  return (Number(v.numerator ?? 0) * 100) / per;
}

/** An Address as host:port (socket addresses only). */
export function socketAddress(a: Pb | undefined, where: string): { host: string; port: number } {
  const s = a?.socket_address;
  if (!s) return reject(where, a?.pipe ? 'pipe addresses are not supported' : a?.envoy_internal_address ? 'internal addresses are not supported' : 'a socket_address is required');
  if (s.named_port) return reject(where, 'named ports are not supported');
  if (s.protocol === 'UDP') return reject(where, 'UDP is not supported');
  if (s.port_value === undefined) return reject(where, 'port_value is required');
  return { host: s.address ?? '0.0.0.0', port: Number(s.port_value) };
}

/** "host:port", bracketing IPv6, as the MeshProxy schema reads it. */
export const hostPort = (a: { host: string; port: number }): string => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);

/** Fields of `m` that are set and not in `known`: each becomes a warning (ignored), so nothing is dropped unseen. */
export function ignoredFields(m: Pb, known: readonly string[], where: string, warn: Warn): void {
  for (const k of Object.keys(m)) if (!known.includes(k) && k !== '@type') warn(`${where}: ${k} is not supported (ignored)`);
}

/** The @type of a typed_config, without its type.googleapis.com/ prefix. */
export const typeName = (typed: Pb | undefined): string | undefined => (typed?.['@type'] as string | undefined)?.replace(/^.*\//, '');

/** A regex-escaped literal, for Envoy's prefix/suffix/contains string matchers. */
export const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
