// nameresolution.mdns: multicast DNS on the local link (daprd's self-hosted default; opt-in here).
// init announces this sidecar's app id with its internal port and answers queries for it; resolve
// answers from a cache of what was heard, else queries "<appId>.local" and takes the first answer.
// Addresses live 60 s and are re-queried in the background after 30 s, as daprd's resolver does;
// a goodbye (TTL 0) or a refused connection (evict) drops one at once.
import { hostname, networkInterfaces } from 'node:os';
import multicastDns from 'multicast-dns';
import type mdns from 'multicast-dns';
import { z } from 'zod';
import type { ResolvedAddress } from '../../../core/invoke/types';
import { durationMs, parseMetadata } from '../../metadata';
import { RoundRobin } from '../address';
import { NoAddressError, type NameResolver, type ResolveRequest, type ResolverMetadata, stringConfig } from '../types';
import { type Announced, announcement, answerFor, instancesIn, serviceName } from './records';

const ADDRESS_TTL_MS = 60_000;
const REFRESH_AFTER_MS = 30_000;
const RECORD_TTL_S = 120;

const schema = z.object({
  /** IPv4 address of the interface to use (default: all interfaces, the system's multicast route). */
  interface: z.string().optional(),
  port: z.coerce.number().int().min(1).max(65535).default(5353),
  /** How long a resolve waits for the first answer. */
  resolveTimeout: durationMs().default(1000),
});

interface Entry extends ResolvedAddress {
  instance: string;
  seenAt: number;
}

const isWildcard = (a: string) => a === '' || a === '0.0.0.0' || a === '::';

/** Addresses to announce: the bound one, else DAPR_HOST_IP, else every non-internal IPv4 address. */
function announcedIps(listen: string | undefined, hostIp: string): string[] {
  if (listen && !isWildcard(listen)) return [listen];
  if (hostIp) return [hostIp];
  const ips = Object.values(networkInterfaces())
    .flatMap((l) => l ?? [])
    .filter((i) => i.family === 'IPv4' && !i.internal)
    .map((i) => i.address);
  return ips.length > 0 ? ips : ['127.0.0.1'];
}

export class MdnsResolver implements NameResolver {
  private socket?: mdns.MulticastDns;
  private me?: Announced;
  private resolveTimeout = 1000;
  /** Lower-cased app id → instance key → address. Only app ids someone resolved are kept. */
  private readonly cache = new Map<string, Map<string, Entry>>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly refreshing = new Set<string>();
  private readonly turn = new RoundRobin();
  private timers: NodeJS.Timeout[] = [];

  async init(md: ResolverMetadata): Promise<void> {
    const cfg = parseMetadata(schema, stringConfig(md.configuration, 'mdns'));
    this.resolveTimeout = cfg.resolveTimeout;
    const socket = multicastDns({ port: cfg.port, interface: cfg.interface, reuseAddr: true, loopback: true });
    this.socket = socket;
    await new Promise<void>((resolve, reject) => {
      socket.once('ready', resolve);
      socket.once('error', reject);
    }).catch(async (e: Error) => {
      await this.close();
      throw new Error(`nameResolution mdns: cannot open the mDNS socket on port ${cfg.port}: ${e.message}`);
    });
    socket.on('error', () => {}); // a send on a vanished interface: the next query/announcement retries
    socket.on('warning', () => {});
    socket.on('response', (packet, rinfo) => this.heard(packet, rinfo));
    const { instance } = md;
    if (instance.appId && instance.daprInternalPort > 0) {
      const host = hostname();
      this.me = {
        appId: instance.appId,
        instance: `${host}:${process.pid}`,
        target: `${host}.local`,
        port: instance.daprInternalPort,
        ips: announcedIps(instance.listenAddress, instance.address),
        ttl: RECORD_TTL_S,
      };
      const me = this.me;
      socket.on('query', (query) => {
        const answer = answerFor(query, me);
        if (answer) socket.respond(answer);
      });
      // RFC 6762 §8.3: announce at least twice, a second apart.
      socket.respond(announcement(me));
      this.timers.push(setTimeout(() => this.socket?.respond(announcement(me)), 1000).unref());
    }
  }

  async resolve(req: ResolveRequest, signal?: AbortSignal): Promise<ResolvedAddress> {
    if (!this.socket) throw new Error('name resolver mdns is not initialized');
    const key = req.id.toLowerCase();
    if (!this.cache.has(key)) this.cache.set(key, new Map());
    let live = this.live(key);
    if (live.length === 0) {
      this.query(key);
      await this.waitFor(key, signal);
      live = this.live(key);
      if (live.length === 0) throw new NoAddressError(`couldn't find service: ${req.id}`);
    } else if (live.some((e) => Date.now() - e.seenAt > REFRESH_AFTER_MS)) {
      this.query(key); // answers refresh the cache in the background
    }
    const pick = this.turn.pick(key, live);
    return { host: pick.host, port: pick.port };
  }

  evict(req: ResolveRequest, address: ResolvedAddress): void {
    const entries = this.cache.get(req.id.toLowerCase());
    for (const [k, e] of entries ?? []) if (e.host === address.host && e.port === address.port) entries!.delete(k);
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    const socket = this.socket;
    this.socket = undefined;
    if (!socket) return;
    // Stop answering first: an answer sent after the goodbye would bring this instance back.
    socket.removeAllListeners('query');
    if (this.me) await new Promise<void>((r) => socket.respond(announcement(this.me!, true), () => r()));
    await new Promise<void>((r) => socket.destroy(() => r()));
    for (const set of this.waiters.values()) for (const wake of set) wake();
  }

  private live(key: string): Entry[] {
    const entries = this.cache.get(key);
    if (!entries) return [];
    const now = Date.now();
    for (const [k, e] of entries) if (now - e.seenAt > ADDRESS_TTL_MS) entries.delete(k);
    return [...entries.values()].sort((a, b) => a.instance.localeCompare(b.instance));
  }

  private query(key: string): void {
    if (this.refreshing.has(key)) return;
    this.refreshing.add(key);
    this.socket?.query({ questions: [{ name: serviceName(key), type: 'PTR' }] });
    // A lost datagram is likely on a busy link: ask once more shortly after.
    // (Both timers are no-ops once closed: the socket is gone.)
    setTimeout(() => this.socket?.query({ questions: [{ name: serviceName(key), type: 'PTR' }] }), 250).unref();
    setTimeout(() => this.refreshing.delete(key), this.resolveTimeout).unref();
  }

  private heard(packet: mdns.Packet, rinfo: { address: string }): void {
    for (const seen of instancesIn(packet, rinfo, (id) => this.cache.has(id))) {
      const entries = this.cache.get(seen.appId)!;
      const k = `${seen.instance}@${seen.host}`;
      if (seen.ttl === 0) {
        entries.delete(k);
        continue;
      }
      entries.set(k, { host: seen.host, port: seen.port, instance: k, seenAt: Date.now() });
      for (const wake of this.waiters.get(seen.appId) ?? []) wake();
    }
  }

  private waitFor(key: string, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const set = this.waiters.get(key) ?? new Set();
      this.waiters.set(key, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, this.resolveTimeout);
      signal?.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }
}
