import { formatSpiffeId, parseSpiffeId, spiffeIdFromSan, spiffeNamespace } from './spiffe';

describe('SPIFFE IDs', () => {
  it('parses a Dapr workload ID into trust domain, namespace and app id, and formats it back', () => {
    const id = parseSpiffeId('spiffe://cluster.local/ns/prod/order-svc');
    expect(id).toEqual({ trustDomain: 'cluster.local', namespace: 'prod', appId: 'order-svc' });
    expect(formatSpiffeId(id as Exclude<typeof id, string>)).toBe('spiffe://cluster.local/ns/prod/order-svc');
  });

  it.each([
    ['https://public/ns/default/a', /not a SPIFFE ID/],
    ['spiffe://Public/ns/default/a', /invalid trust domain/],
    ['spiffe:///ns/default/a', /invalid trust domain/],
    ['spiffe://public', /not a Dapr workload ID/],
    ['spiffe://public/ns/default', /not a Dapr workload ID/],
    ['spiffe://public/ns/default/a/b', /not a Dapr workload ID/],
    ['spiffe://public/namespace/default/a', /not a Dapr workload ID/],
    ['spiffe://public/ns/../a', /not a Dapr workload ID/],
    ['spiffe://public/ns/default/a?b', /not a Dapr workload ID/],
  ])('refuses %s', (uri, why) => {
    expect(parseSpiffeId(uri)).toMatch(why);
  });

  it('reads the one URI SAN from node\'s subjectAltName text', () => {
    expect(spiffeIdFromSan('DNS:localhost, URI:spiffe://public/ns/default/a, IP Address:127.0.0.1')).toEqual({ trustDomain: 'public', namespace: 'default', appId: 'a' });
    expect(spiffeIdFromSan('URI:"spiffe://public/ns/default/a"')).toEqual({ trustDomain: 'public', namespace: 'default', appId: 'a' });
    expect(spiffeIdFromSan(undefined)).toMatch(/no SPIFFE ID/);
    expect(spiffeIdFromSan('DNS:localhost')).toMatch(/no SPIFFE ID/);
    expect(spiffeIdFromSan('URI:spiffe://public/ns/default/a, URI:spiffe://public/ns/default/b')).toMatch(/2 URI subject alternative names/);
  });

  it('puts unset namespaces in "default", as daprd does', () => {
    expect(spiffeNamespace('')).toBe('default');
    expect(spiffeNamespace('prod')).toBe('prod');
  });
});
