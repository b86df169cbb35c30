// One way to read etcd metadata and open an etcd v3 client for every etcd component, with Layotto's
// metadata names (components/pkg/utils/etcd.go): `endpoints` (';'-separated; ',' also accepted),
// `dialTimeout` (seconds, or a Dapr duration), `keyPrefixPath` (default "/layotto/", always
// wrapped in '/'), `username`/`password`, and `tlsCa`/`tlsCert`/`tlsCertKey` file paths.
// etcd3 has no dial timeout of its own, so init pings with a deadline and a dead address fails init.
import { readFileSync } from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';
import { z } from 'zod';
import { durationMs, parseMetadata } from '../metadata';
import { ComponentConfigError } from '../types';

const schema = z.object({
  endpoints: z.string({ error: 'missing endpoints address' }),
  dialTimeout: durationMs().default(5000),
  keyPrefixPath: z.string().default('/layotto/'),
  username: z.string().optional(),
  password: z.string().optional(),
  tlsCa: z.string().optional(),
  tlsCert: z.string().optional(),
  tlsCertKey: z.string().optional(),
});

export interface EtcdConfig {
  /** host:port or scheme://host:port, as configured. */
  endpoints: string[];
  dialTimeout: number;
  /** Starts and ends with '/'. */
  keyPrefix: string;
  username?: string;
  password?: string;
  tls?: { ca: string; cert?: string; key?: string };
}

export function parseEtcdMetadata(props: Record<string, string>): EtcdConfig {
  const m = parseMetadata(schema, props);
  const endpoints = m.endpoints
    .split(/[;,]/)
    .map((e) => e.trim())
    .filter(Boolean);
  if (endpoints.length === 0) throw new ComponentConfigError('metadata field "endpoints": missing endpoints address', 'endpoints');
  if (m.password !== undefined && m.username === undefined) throw new ComponentConfigError('metadata field "username": required with a password', 'username');
  let tls: EtcdConfig['tls'];
  if (m.tlsCa || m.tlsCert || m.tlsCertKey) {
    if (!m.tlsCa) throw new ComponentConfigError('metadata field "tlsCa": required when TLS is configured', 'tlsCa');
    if (!m.tlsCert !== !m.tlsCertKey) throw new ComponentConfigError('metadata fields "tlsCert" and "tlsCertKey" go together', m.tlsCert ? 'tlsCertKey' : 'tlsCert');
    tls = { ca: m.tlsCa, cert: m.tlsCert, key: m.tlsCertKey };
  }
  return { endpoints, dialTimeout: m.dialTimeout, keyPrefix: withSlashes(m.keyPrefixPath), username: m.username, password: m.password, tls };
}

/** "/a/" for "a", "/a", "a/" and "/a/"; "/" stays "/". */
function withSlashes(p: string): string {
  return `${p.startsWith('/') ? '' : '/'}${p}${p.endsWith('/') ? '' : '/'}`;
}

/** Opens a client and proves the server answers within dialTimeout. */
export async function connectEtcd(cfg: EtcdConfig, what: string): Promise<Etcd3> {
  const scheme = cfg.tls ? 'https://' : 'http://';
  const options: IOptions = {
    hosts: cfg.endpoints.map((e) => (/^https?:\/\//.test(e) ? e : scheme + e)),
    faultHandling: { watchBackoff: watchBackoff(100) },
  };
  if (cfg.username !== undefined) options.auth = { username: cfg.username, password: cfg.password ?? '' };
  if (cfg.tls) {
    const read = (path: string, field: string) => {
      try {
        return readFileSync(path);
      } catch (e) {
        throw new ComponentConfigError(`${what}: error reading ${field} ${path}: ${(e as Error).message}`, field);
      }
    };
    options.credentials = {
      rootCertificate: read(cfg.tls.ca, 'tlsCa'),
      ...(cfg.tls.cert && cfg.tls.key ? { certChain: read(cfg.tls.cert, 'tlsCert'), privateKey: read(cfg.tls.key, 'tlsCertKey') } : {}),
    };
  }
  const client = new Etcd3(options);
  try {
    await client.get('ping').options({ deadline: Date.now() + cfg.dialTimeout });
  } catch (e) {
    client.close();
    throw new Error(`${what}: error connecting to etcd at ${cfg.endpoints.join(';')}: ${(e as Error).message}`);
  }
  return client;
}

/** Watch reconnects every 100 ms doubling up to 1 s (etcd3's default grows to 30 s, and a pending
 * retry then holds the process that long after close). */
function watchBackoff(ms: number): { duration: number; next: () => ReturnType<typeof watchBackoff> } {
  return { duration: ms, next: () => watchBackoff(Math.min(ms * 2, 1000)) };
}

/** The health round trip: the member's status, bounded so a dead endpoint fails within `ms`. */
export async function pingEtcd(client: Etcd3, ms = 2000): Promise<void> {
  await client.maintenance.status({ deadline: Date.now() + ms });
}

export function closeEtcd(client: Etcd3 | undefined): void {
  client?.close();
}
