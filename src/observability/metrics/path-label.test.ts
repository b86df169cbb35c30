import { compilePattern, HttpLabeler, UNMATCHED_PATH } from './path-label';

const ex = (verb: string, route: string, path: string, operation?: string) => ({ verb, route, path, operation });

describe('HTTP path label', () => {
  it('compiles ServeMux patterns: wildcards, rest wildcards, subtrees, method prefixes', () => {
    expect(compilePattern('/orders/{id}').re.test('/orders/1')).toBe(true);
    expect(compilePattern('/orders/{id}').re.test('/orders/1/items')).toBe(false);
    expect(compilePattern('/files/{rest...}').re.test('/files/a/b/c')).toBe(true);
    expect(compilePattern('/static/').re.test('/static/css/x.css')).toBe(true);
    expect(compilePattern('GET /v1.0/state/{store}/{key}').re.test('/v1.0/state/s/k')).toBe(true);
    expect(compilePattern('/a.b').re.test('/aXb')).toBe(false);
  });

  it('increased cardinality (the default): verb and the route template, never the concrete path', () => {
    const l = new HttpLabeler({ increasedCardinality: true, pathMatching: [], excludeVerbs: false });
    expect(l.labels(ex('GET', '/v1.0/state/:storeName/:key', '/v1.0/state/s/key-123'))).toEqual({ method: 'GET', path: '/v1.0/state/:storeName/:key' });
    expect(l.labels(ex('POST', '', '/some/unmatched/path'))).toEqual({ method: 'POST', path: UNMATCHED_PATH });
  });

  it('a pathMatching pattern names the path; the most specific wins', () => {
    const l = new HttpLabeler({ increasedCardinality: true, pathMatching: ['/v1.0/invoke/{id}/method/{rest...}', '/v1.0/invoke/{id}/method/orders/{orderID}'], excludeVerbs: false });
    expect(l.labels(ex('GET', '/v1.0/invoke/:id/method/*', '/v1.0/invoke/app/method/orders/7')).path).toBe('/v1.0/invoke/{id}/method/orders/{orderID}');
    expect(l.labels(ex('GET', '/v1.0/invoke/:id/method/*', '/v1.0/invoke/app/method/users/7')).path).toBe('/v1.0/invoke/{id}/method/{rest...}');
  });

  it('low cardinality: the operation name as method, no path label unless pathMatching, then "" when unmatched', () => {
    const low = new HttpLabeler({ increasedCardinality: false, pathMatching: [], excludeVerbs: false });
    expect(low.hasPath).toBe(false);
    expect(low.labels(ex('GET', '/v1.0/state/:storeName/:key', '/v1.0/state/s/k', 'GetState'))).toEqual({ method: 'GetState' });
    const matching = new HttpLabeler({ increasedCardinality: false, pathMatching: ['/orders/{id}'], excludeVerbs: false });
    expect(matching.labels(ex('GET', '', '/orders/1'))).toEqual({ method: 'GET', path: '/orders/{id}' });
    expect(matching.labels(ex('GET', '', '/users/1'))).toEqual({ method: 'GET', path: '' });
  });

  it('excludeVerbs empties the verb', () => {
    const l = new HttpLabeler({ increasedCardinality: true, pathMatching: ['/orders'], excludeVerbs: true });
    expect(l.labels(ex('POST', '', '/orders'))).toEqual({ method: '', path: '/orders' });
  });

  it('1000 distinct keys give one label set', () => {
    const l = new HttpLabeler({ increasedCardinality: true, pathMatching: [], excludeVerbs: false });
    const sets = new Set<string>();
    for (let i = 0; i < 1000; i++) sets.add(JSON.stringify(l.labels(ex('GET', '/v1.0/state/:storeName/:key', `/v1.0/state/s/key-${i}`))));
    expect(sets.size).toBe(1);
  });
});
