// The DNS-SD records a sidecar announces over mDNS, laid out as daprd's mdns resolver (zeroconf)
// does, so either finds the other: service "<appId>.local" → PTR "<instance>.<appId>.local", whose
// SRV gives the internal port and target "<hostname>.local", TXT carries the app id, A records
// the addresses. Pure functions: building answers and reading responses, no sockets.
import type { RemoteInfo } from 'node:dgram';
import type mdns from 'multicast-dns';

export interface Announced {
  appId: string;
  /** Unique per process: "<hostname>:<pid>" as daprd names it. */
  instance: string;
  /** SRV target, "<hostname>.local". */
  target: string;
  port: number;
  ips: string[];
  ttl: number;
}

/** One instance of an app as a response describes it. */
export interface Seen {
  appId: string;
  instance: string;
  host: string;
  port: number;
  /** Seconds; 0 is a goodbye (the instance is leaving). */
  ttl: number;
}

const lower = (s: string) => s.toLowerCase().replace(/\.$/, '');
export const serviceName = (appId: string): string => `${appId}.local`;
const instanceName = (a: Announced) => `${a.instance}.${serviceName(a.appId)}`;

function records(a: Announced, ttl: number): { ptr: mdns.Answer; srv: mdns.Answer; txt: mdns.Answer; addrs: mdns.Answer[] } {
  const name = instanceName(a);
  return {
    ptr: { name: serviceName(a.appId), type: 'PTR', ttl, data: name },
    srv: { name, type: 'SRV', ttl, flush: true, data: { priority: 10, weight: 1, port: a.port, target: a.target } },
    txt: { name, type: 'TXT', ttl, flush: true, data: [Buffer.from(a.appId)] },
    addrs: a.ips.map((ip) => ({ name: a.target, type: ip.includes(':') ? 'AAAA' : 'A', ttl, flush: true, data: ip })),
  };
}

/** The unsolicited announcement (or, with ttl 0, the goodbye) of an instance. */
export function announcement(a: Announced, goodbye = false): mdns.Packet {
  const r = records(a, goodbye ? 0 : a.ttl);
  return { type: 'response', answers: [r.ptr, r.srv, r.txt, ...r.addrs] };
}

/** Our answer to a query, or undefined when it asks about nothing we announce. */
export function answerFor(query: mdns.Packet, a: Announced): mdns.Packet | undefined {
  const r = records(a, a.ttl);
  const answers: mdns.Answer[] = [];
  const additionals: mdns.Answer[] = [];
  const add = (list: mdns.Answer[], rec: mdns.Answer) => {
    if (!list.includes(rec)) list.push(rec);
  };
  for (const q of query.questions ?? []) {
    const name = lower(q.name);
    const any = q.type === 'ANY';
    if (name === lower(serviceName(a.appId)) && (any || q.type === 'PTR')) {
      add(answers, r.ptr);
      for (const rec of [r.srv, r.txt, ...r.addrs]) add(additionals, rec);
    } else if (name === lower(instanceName(a)) && (any || q.type === 'SRV' || q.type === 'TXT')) {
      if (any || q.type === 'SRV') add(answers, r.srv);
      if (any || q.type === 'TXT') add(answers, r.txt);
      for (const rec of r.addrs) add(additionals, rec);
    } else if (name === lower(a.target) && (any || q.type === 'A' || q.type === 'AAAA')) {
      for (const rec of r.addrs) if (any || rec.type === q.type) add(answers, rec);
    }
  }
  return answers.length > 0 ? { type: 'response', answers, additionals: additionals.filter((x) => !answers.includes(x)) } : undefined;
}

/**
 * The instances of the wanted app ids a response describes. The address is the A/AAAA record of
 * the SRV target in the same packet that equals the packet's source (the interface that reached
 * us), else the first such record, else the source itself: hosts in separate network namespaces
 * share a hostname, so names alone cannot tell their addresses apart.
 */
export function instancesIn(packet: mdns.Packet, rinfo: Pick<RemoteInfo, 'address'>, wanted: (appId: string) => boolean): Seen[] {
  const all = [...(packet.answers ?? []), ...(packet.additionals ?? [])];
  const out: Seen[] = [];
  for (const ptr of all) {
    if (ptr.type !== 'PTR' || typeof ptr.data !== 'string') continue;
    const service = lower(ptr.name);
    if (!service.endsWith('.local')) continue;
    const appId = service.slice(0, -'.local'.length);
    if (!appId || appId.includes('.') || !wanted(appId)) continue;
    const inst = lower(ptr.data);
    const srv = all.find((r) => r.type === 'SRV' && lower(r.name) === inst);
    const data = srv?.data as { port?: number; target?: string } | undefined;
    if (!srv || !data?.port) continue;
    const target = lower(data.target ?? '');
    const ips = all.filter((r) => (r.type === 'A' || r.type === 'AAAA') && lower(r.name) === target).map((r) => String(r.data));
    const host = ips.find((ip) => ip === rinfo.address) ?? ips[0] ?? rinfo.address;
    out.push({ appId, instance: inst, host, port: data.port, ttl: Math.min(ptr.ttl ?? 0, srv.ttl ?? 0) });
  }
  return out;
}
