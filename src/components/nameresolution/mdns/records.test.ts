// The mDNS records as daprd's zeroconf lays them out, through real DNS wire encoding (dns-packet,
// which multicast-dns uses): no socket here, the network tests run in network namespaces
// (compat-tests/conformance/nameresolution-mdns.test.ts).
import * as packet from 'dns-packet';
import type mdns from 'multicast-dns';
import { type Announced, announcement, answerFor, instancesIn } from './records';

const me: Announced = { appId: 'orders', instance: 'hostA:42', target: 'hostA.local', port: 47123, ips: ['10.0.0.1', '10.0.1.1'], ttl: 120 };
/** What the other side's socket decodes. */
const wire = (p: mdns.Packet): mdns.Packet => packet.decode(packet.encode(p)) as unknown as mdns.Packet;
const all = () => true;

describe('mdns records', () => {
  it('announces PTR <appId>.local → <instance>.<appId>.local, SRV with the internal port, TXT, A', () => {
    const got = wire(announcement(me));
    expect(got.answers!.map((a) => [a.type, a.name, a.ttl])).toEqual([
      ['PTR', 'orders.local', 120],
      ['SRV', 'hostA:42.orders.local', 120],
      ['TXT', 'hostA:42.orders.local', 120],
      ['A', 'hostA.local', 120],
      ['A', 'hostA.local', 120],
    ]);
    expect(got.answers![1]!.data).toMatchObject({ port: 47123, target: 'hostA.local' });
    expect(wire(announcement(me, true)).answers!.every((a) => a.ttl === 0)).toBe(true);
  });

  it('answers a PTR query for its app id with the SRV, TXT and A records as additionals', () => {
    const answer = wire(answerFor({ type: 'query', questions: [{ name: 'ORDERS.local', type: 'PTR' }] }, me)!);
    expect(answer.answers!.map((a) => a.type)).toEqual(['PTR']);
    expect(answer.additionals!.map((a) => a.type)).toEqual(['SRV', 'TXT', 'A', 'A']);
    expect(answerFor({ type: 'query', questions: [{ name: 'billing.local', type: 'PTR' }] }, me)).toBeUndefined();
    expect(wire(answerFor({ type: 'query', questions: [{ name: 'hostA.local', type: 'A' }] }, me)!).answers!.map((a) => a.data)).toEqual(['10.0.0.1', '10.0.1.1']);
  });

  it('reads instances from a response: the A record matching the sender, else the first, else the sender', () => {
    const res = wire(announcement(me));
    expect(instancesIn(res, { address: '10.0.1.1' }, all)).toEqual([{ appId: 'orders', instance: 'hosta:42.orders.local', host: '10.0.1.1', port: 47123, ttl: 120 }]);
    expect(instancesIn(res, { address: '192.0.2.9' }, all)[0]!.host).toBe('10.0.0.1');
    expect(instancesIn(wire(announcement({ ...me, ips: [] })), { address: '10.9.9.9' }, all)[0]!.host).toBe('10.9.9.9');
    expect(instancesIn(wire(announcement(me, true)), { address: '10.0.0.1' }, all)[0]!.ttl).toBe(0);
  });

  it('ignores app ids nobody asked for and records of other services', () => {
    expect(instancesIn(wire(announcement(me)), { address: '10.0.0.1' }, (id) => id === 'billing')).toEqual([]);
    const printer = wire({ type: 'response', answers: [{ name: '_ipp._tcp.local', type: 'PTR', ttl: 120, data: 'p._ipp._tcp.local' }] });
    expect(instancesIn(printer, { address: '10.0.0.9' }, all)).toEqual([]);
  });
});
